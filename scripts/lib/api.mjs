/** One JSON call to the edgepulse API; a network failure answers status 0 with its reason instead of throwing. */
export async function apiCall(host, method, path, token, body) {
  let res;
  try {
    res = await fetch(`${host}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (err) {
    return { status: 0, json: undefined, text: String(err?.cause?.code ?? err?.message ?? err) };
  }
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, retryAfter: res.headers.get('retry-after') };
}
