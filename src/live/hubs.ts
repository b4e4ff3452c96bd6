/** Where a workspace's hub lives: the one place to change when ingestion is sharded. */
export function workspaceHub(env: Env, workspaceId: string) {
  return env.WORKSPACE_HUB.get(env.WORKSPACE_HUB.idFromName(workspaceId));
}

export function roomHub(env: Env, workspaceId: string, room: string) {
  return env.ROOM_HUB.get(env.ROOM_HUB.idFromName(`${workspaceId}/${room}`));
}
