import { ErrorCode, HeraldError } from './codes.js';
import type { Command, ServerFrame } from './frames.js';

const COMMANDS = new Set([
  'connect',
  'subscribe',
  'unsubscribe',
  'publish',
  'presence',
  'presence_stats',
  'history',
  'refresh',
  'sub_refresh',
  'ack',
  'pong',
]);

/** Longest message id an `ack` may name (server ids are `msg_` and 22 characters). */
export const MAX_MESSAGE_ID_LENGTH = 64;

const CHANNEL_COMMANDS = new Set([
  'subscribe',
  'unsubscribe',
  'publish',
  'presence',
  'presence_stats',
  'history',
  'sub_refresh',
]);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPosition(v: unknown): boolean {
  return (
    isObject(v) && Number.isSafeInteger(v.offset) && (v.offset as number) >= 0 && typeof v.epoch === 'string'
  );
}

/**
 * Validates one decoded frame's shape. Throws HeraldError(METHOD_NOT_FOUND) for an unknown `cmd`
 * and HeraldError(BAD_REQUEST) for a malformed one; the thrown error carries the frame id (if it
 * had a usable one) in `details.id` so the reply can still be correlated.
 */
export function validateCommand(raw: unknown): Command {
  if (!isObject(raw)) throw new HeraldError(ErrorCode.BAD_REQUEST, 'frame must be a JSON object');
  const { cmd, id } = raw;
  const idOk = Number.isSafeInteger(id) && (id as number) > 0;
  const details = idOk ? { id } : undefined;
  if (typeof cmd !== 'string') throw new HeraldError(ErrorCode.BAD_REQUEST, 'frame has no cmd', details);
  if (!COMMANDS.has(cmd))
    throw new HeraldError(ErrorCode.METHOD_NOT_FOUND, `unknown command "${cmd}"`, details);
  if (cmd === 'pong') return { cmd: 'pong' };
  if (!idOk) throw new HeraldError(ErrorCode.BAD_REQUEST, 'id must be a positive integer');
  const bad = (msg: string): never => {
    throw new HeraldError(ErrorCode.BAD_REQUEST, msg, details);
  };
  if (CHANNEL_COMMANDS.has(cmd) && typeof raw.channel !== 'string') bad('channel must be a string');
  switch (cmd) {
    case 'connect':
      if (raw.token !== undefined && typeof raw.token !== 'string') bad('token must be a string');
      if (raw.ticket !== undefined && typeof raw.ticket !== 'string') bad('ticket must be a string');
      if (raw.subs !== undefined) {
        if (!isObject(raw.subs)) bad('subs must be an object');
        for (const s of Object.values(raw.subs as Record<string, unknown>)) {
          if (!isObject(s) || (s.recover !== undefined && !isPosition(s.recover)))
            bad('subs entries must be {recover?: {offset, epoch}}');
        }
      }
      break;
    case 'subscribe':
      if (raw.token !== undefined && typeof raw.token !== 'string') bad('token must be a string');
      if (raw.recover !== undefined && !isPosition(raw.recover))
        bad('recover must be {offset: integer >= 0, epoch: string}');
      break;
    case 'publish':
      if (!('data' in raw) || raw.data === undefined) bad('publish needs data');
      break;
    case 'history':
      if (raw.limit !== undefined && (!Number.isSafeInteger(raw.limit) || (raw.limit as number) < -1))
        bad('limit must be an integer >= -1');
      if (raw.since !== undefined && !isPosition(raw.since)) bad('since must be {offset, epoch}');
      if (raw.reverse !== undefined && typeof raw.reverse !== 'boolean') bad('reverse must be a boolean');
      break;
    case 'refresh':
    case 'sub_refresh':
      if (typeof raw.token !== 'string') bad('token must be a string');
      break;
    case 'ack':
      if (
        typeof raw.message !== 'string' ||
        raw.message.length === 0 ||
        raw.message.length > MAX_MESSAGE_ID_LENGTH
      )
        bad(`message must be a message id (1-${MAX_MESSAGE_ID_LENGTH} characters)`);
      break;
  }
  return raw as unknown as Command;
}

export interface DecodedFrame {
  command?: Command;
  error?: HeraldError;
}

/**
 * Splits a message into newline-separated frames and validates each. A frame that is not JSON or
 * not a valid command yields an `error` entry instead of throwing, so one bad frame does not hide
 * the others from the reply.
 */
export function decodeFrames(text: string): DecodedFrame[] {
  const out: DecodedFrame[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      out.push({ error: new HeraldError(ErrorCode.BAD_REQUEST, 'frame is not valid JSON') });
      continue;
    }
    try {
      out.push({ command: validateCommand(parsed) });
    } catch (err) {
      out.push({ error: err as HeraldError });
    }
  }
  return out;
}

export function encodeFrame(frame: ServerFrame): string {
  return JSON.stringify(frame);
}
