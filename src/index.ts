import { app } from './app';

export { WorkspaceHub } from './live/workspace-hub';
export { RoomHub } from './live/room-hub';

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
