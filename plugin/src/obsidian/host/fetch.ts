// fetch over Obsidian's requestUrl: no CORS preflight from the app's origin
// (so a self-hosted relay needs no CORS setup), and it works on mobile.
import { requestUrl } from 'obsidian';

export const requestUrlFetch: typeof fetch = async (input, init) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const headers: Record<string, string> = {};
  new Headers(init?.headers).forEach((value, key) => (headers[key] = value));
  const body = init?.body;
  const res = await requestUrl({
    url,
    method: init?.method ?? 'GET',
    headers,
    ...(headers['content-type'] ? { contentType: headers['content-type'] } : {}),
    ...(typeof body === 'string' || body instanceof ArrayBuffer ? { body } : {}),
    throw: false,
  });
  // A 204/304 may not carry a body in a Response.
  const payload = res.status === 204 || res.status === 304 ? null : res.arrayBuffer;
  return new Response(payload, { status: res.status, headers: res.headers });
};
