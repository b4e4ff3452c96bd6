import { DurableObject } from 'cloudflare:workers';

/** One per room of a workspace: presence and the room's live view (built in the live issue). */
export class RoomHub extends DurableObject<Env> {}
