// The server that drives the log lands separately; until then most of the
// module is only reached from its tests.
#[allow(dead_code, unused_imports)]
mod wal;

fn main() {
    println!("tessera-relay {}", tessera_crdt::version());
}
