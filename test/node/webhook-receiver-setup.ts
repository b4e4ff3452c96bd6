import type { TestProject } from 'vitest/node';
import { startWebhookReceiver } from './webhook-receiver';

/** Vitest globalSetup: workerd's outbound fetch reaches this Node server on loopback. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { url, server } = await startWebhookReceiver();
  project.provide('webhookReceiverUrl', url);
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}
