import type { NodeDirectory } from '../node-directory.js';

export interface MemoryNodeDirectoryOptions {
  /** Clock in ms (tests pass a manual clock); default Date.now. */
  now?: () => number;
}

/** NodeDirectory of one process (the embedded default): only this node ever advertises. */
export class MemoryNodeDirectory implements NodeDirectory {
  private readonly entries = new Map<string, { url: string; expiresAt: number }>();
  private readonly now: () => number;

  constructor(options: MemoryNodeDirectoryOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  advertise(tag: string, url: string, ttlMs: number): Promise<void> {
    this.entries.set(tag, { url, expiresAt: this.now() + ttlMs });
    return Promise.resolve();
  }

  withdraw(tag: string): Promise<void> {
    this.entries.delete(tag);
    return Promise.resolve();
  }

  lookup(tag: string): Promise<string | undefined> {
    const entry = this.entries.get(tag);
    if (!entry) return Promise.resolve(undefined);
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(tag);
      return Promise.resolve(undefined);
    }
    return Promise.resolve(entry.url);
  }
}
