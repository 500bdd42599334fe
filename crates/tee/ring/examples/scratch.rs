use arcanum_ring::*;
use std::time::*;
fn case(size: usize, cap: u64, spin: u32, d: Duration) -> f64 {
    let (w, mut r) = channel(cap, &RingOptions { max_frame: None, spin }).unwrap();
    std::thread::scope(|s| {
        s.spawn(move || {
            let msg = vec![1u8; size];
            let st = Instant::now();
            while st.elapsed() < d { for _ in 0..16 { w.send(&msg, None).unwrap(); } }
        });
        let mut buf = Vec::with_capacity(size);
        let st = Instant::now();
        let mut n = 0u64;
        while r.recv_into(&mut buf, None).is_ok() { n += 1; }
        (n as f64 * size as f64) / st.elapsed().as_secs_f64() / 1e9
    })
}
fn main() {
    let d = Duration::from_millis(400);
    for size in [65536usize, 65532, 32768] {
    for cap in [128u64 << 10, 256 << 10, 512 << 10, 1 << 20, 2 << 20, 4 << 20] {
        for spin in [4096u32] {
            println!("{size} cap={}K spin={spin}: {:.2} GB/s", cap >> 10, case(size, cap, spin, d));
        }
    }}
}
