// The server that uses the store lands separately; until then nothing in the
// binary calls it (or its re-exports), which would fail `clippy -D warnings`.
#[allow(dead_code, unused_imports)]
mod store;

fn main() {
    println!("tessera-relay {}", tessera_crdt::version());
}
