/**
 * Group commit: requests arriving while a commit is syncing to disk wait for the next one, which
 * takes them all at once (in the hub: one transaction, one outbox row, one seen insert). Each is
 * answered only after the commit holding it is durable; a failed commit fails its whole group.
 */
export class GroupCommit<In, Out> {
  private waiting: Array<{ input: In; resolve: (out: Out) => void; reject: (err: unknown) => void }> = [];
  private committing = false;

  constructor(
    /** Writes the whole group (synchronously, in one transaction); an answer per input, in order. */
    private readonly commit: (group: In[]) => Out[],
    /** Resolves once what `commit` wrote is durable. */
    private readonly sync: () => Promise<void>,
  ) {}

  submit(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      if (!this.committing) void this.loop();
    });
  }

  private async loop(): Promise<void> {
    this.committing = true;
    try {
      while (this.waiting.length) {
        const group = this.waiting.splice(0);
        let results: Out[];
        try {
          results = this.commit(group.map((r) => r.input));
          await this.sync();
        } catch (err) {
          for (const r of group) r.reject(err);
          continue;
        }
        group.forEach((r, i) => r.resolve(results[i]));
      }
    } finally {
      this.committing = false;
    }
  }
}
