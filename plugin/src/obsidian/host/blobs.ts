// BlobClient over Obsidian's requestUrl: no CORS preflight from the app's
// origin, so a self-hosted relay needs no CORS configuration.
import { requestUrl } from 'obsidian';
import type { BlobClient } from '../engine-port';

export function relayBlobs(serverUrl: string, vaultId: string, token: string): BlobClient {
  const base = `${serverUrl.replace(/\/+$/, '')}/v1/vaults/${encodeURIComponent(vaultId)}/blobs/`;
  const headers = { authorization: `Bearer ${token}` };
  return {
    async put(hash, bytes) {
      const body = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      const res = await requestUrl({ url: base + hash, method: 'PUT', body, headers, contentType: 'application/octet-stream', throw: false });
      if (res.status !== 200 && res.status !== 201) throw new Error(`blob upload ${hash}: HTTP ${res.status}`);
    },
    async get(hash) {
      const res = await requestUrl({ url: base + hash, method: 'GET', headers, throw: false });
      if (res.status === 404) return undefined;
      if (res.status !== 200) throw new Error(`blob download ${hash}: HTTP ${res.status}`);
      return new Uint8Array(res.arrayBuffer);
    },
  };
}
