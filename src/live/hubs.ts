/** Ids by name per namespace: idFromName hashes the name, a cost on every ingest request (ids outlive requests, stubs do not). */
const ids = new WeakMap<object, Map<string, DurableObjectId>>();
const IDS_MAX = 10_000;

function idOf(ns: { idFromName(name: string): DurableObjectId }, name: string): DurableObjectId {
  let byName = ids.get(ns);
  if (!byName) ids.set(ns, (byName = new Map()));
  let id = byName.get(name);
  if (!id) {
    if (byName.size >= IDS_MAX) byName.clear();
    byName.set(name, (id = ns.idFromName(name)));
  }
  return id;
}

/**
 * Where a workspace's hub lives. Sharding ingestion (DESIGN: by a hash of the user id, one hub
 * merging) starts here but is not yet one change: it also needs mergeable live state, presence kept
 * on one hub per room, and drains whose sketch merges are safe with several writers.
 */
export function workspaceHub(env: Env, workspaceId: string) {
  return env.WORKSPACE_HUB.get(idOf(env.WORKSPACE_HUB, workspaceId));
}

export function roomHub(env: Env, workspaceId: string, room: string) {
  return env.ROOM_HUB.get(idOf(env.ROOM_HUB, `${workspaceId}/${room}`));
}
