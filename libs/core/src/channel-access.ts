import type { AppConfig, NamespaceOptions } from '@herald/config';
import { resolveNamespace } from '@herald/control';
import { ErrorCode, HeraldError, parseChannel, type ParsedChannel } from '@herald/protocol';

export interface ResolvedChannel extends ParsedChannel {
  options: NamespaceOptions;
}

/**
 * Adjusts the options of channels whose names carry a meaning of their own in a protocol Herald
 * also speaks: the Pusher prefixes (`private-`, `presence-`, `cache-`, ...) in the default
 * namespace (libs/pusher). It must be a pure function of the name and the namespace options, so
 * every process (api, gateway) that installs it resolves a channel alike.
 */
export type ChannelOptionsRule = (
  app: AppConfig,
  channel: ParsedChannel,
  options: NamespaceOptions,
) => NamespaceOptions;

let optionsRule: ChannelOptionsRule | undefined;

/** Installs the process's channel options rule (PusherModule does, when the protocol is enabled). */
export function setChannelOptionsRule(rule: ChannelOptionsRule | undefined): void {
  optionsRule = rule;
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
  return { ...parsed, options: optionsRule ? optionsRule(app, parsed, options) : options };
}
