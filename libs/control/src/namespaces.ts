import type { AppConfig, NamespaceOptions } from '@herald/config';
import type { ParsedChannel } from '@herald/protocol';

/**
 * The options that govern a channel: those of its namespace ("" for channels without one).
 * User-limited channels (`#42`, `dialog#42,43`, `chat:#42`) use their namespace's options; the user
 * boundary only adds who may subscribe. Returns undefined when the namespace is not configured, so
 * the caller answers UNKNOWN_CHANNEL.
 */
export function resolveNamespace(app: AppConfig, channel: ParsedChannel): NamespaceOptions | undefined {
  // Own-property lookup: a namespace called "constructor" or "__proto__" must not hit the prototype.
  return Object.hasOwn(app.namespaces, channel.namespace) ? app.namespaces[channel.namespace] : undefined;
}
