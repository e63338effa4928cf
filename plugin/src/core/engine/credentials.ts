// How the token reaches the relay on a socket: as a WebSocket subprotocol,
// since a browser WebSocket cannot set headers and a URL's query ends up in
// proxy and access logs. Mirrors crdt/src/api/credentials.rs: the relay
// reads the token from `tessera.token.<token>` and selects `tessera`.

/** The subprotocol the relay selects. */
export const SUBPROTOCOL = 'tessera';
/** Prefix of the offered subprotocol that carries the token. */
export const TOKEN_PROTOCOL_PREFIX = 'tessera.token.';

/** The subprotocols a device offers: the relay's, then the token. */
export function tokenProtocols(token: string): string[] {
  return [SUBPROTOCOL, TOKEN_PROTOCOL_PREFIX + token];
}
