// The one place the adapter constructs the engine: everything it drives is
// the host-neutral SyncService (src/core/service.ts), tested in Node.
import type { EngineHost, EnginePort } from '../core/port';
import { SyncService } from '../core/service';

export function linkEngine(host: EngineHost): EnginePort {
  return new SyncService(host);
}
