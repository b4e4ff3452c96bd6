declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the Node webhook receiver (test/node/webhook-receiver.ts) the workerd tests deliver to. */
    webhookReceiverUrl: string;
  }
}
export {};
