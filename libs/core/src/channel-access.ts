import type { AppConfig, NamespaceOptions } from '@herald/config';
import { resolveNamespace } from '@herald/control';
import { ErrorCode, HeraldError, parseChannel, type ParsedChannel } from '@herald/protocol';

export interface ResolvedChannel extends ParsedChannel {
  options: NamespaceOptions;
}

/** Parses a channel name and finds its namespace options, or throws UNKNOWN_CHANNEL. */
export function resolveChannel(app: AppConfig, channel: string): ResolvedChannel {
  const parsed = parseChannel(channel);
  if (!parsed)
    throw new HeraldError(
      ErrorCode.UNKNOWN_CHANNEL,
      `invalid channel name "${String(channel).slice(0, 300)}"`,
    );
  const options = resolveNamespace(app, parsed);
  if (!options)
    throw new HeraldError(ErrorCode.UNKNOWN_CHANNEL, `namespace "${parsed.namespace}" is not configured`);
  return { ...parsed, options };
}
