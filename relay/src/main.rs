fn main() {
    println!("tessera-relay {}", tessera_crdt::version());
}
