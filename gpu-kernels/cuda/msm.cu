// BN254 G1 multi-scalar multiplication: Pippenger buckets filled by a counting sort.
//
// Field elements are 4 little-endian 64-bit limbs in Montgomery form (R = 2^256), the
// representation halo2curves uses. Points are affine (x, y) on input, (0, 0) standing for
// infinity as in halo2curves, and Jacobian (X, Y, Z) inside, Z = 0 for infinity.
//
// Pipeline (one launch each, all on one stream):
//   to_montgomery   bases, once per key
//   digits          per (window, point): bucket key, and a histogram of keys
//   (host)          exclusive scan of the histogram
//   scatter         point indices sorted by bucket key (sign in the top bit)
//   bucket_sums     one thread per bucket: Σ of its points
//   segment_sums    one thread per segment of a window's buckets: Σ d · B_d over the segment
//   window_sums     one thread per window: Σ of its segments
//   combine         one thread: Horner over the windows, result out of Montgomery form
//
// The file is plain C++ apart from the kernel qualifiers, so it also compiles on the host.

#ifdef __CUDACC_RTC__
typedef unsigned long long u64;
typedef unsigned int u32;
#define DEV __device__ __forceinline__
#define KERNEL extern "C" __global__
#define MULHI(a, b) __umul64hi(a, b)
#else
typedef unsigned long long u64;
typedef unsigned int u32;
#define DEV static inline
#define KERNEL static
#define MULHI(a, b) ((u64)(((unsigned __int128)(a) * (b)) >> 64))
#define __constant__
#endif

struct Fq {
    u64 l[4];
};

struct Jac {
    Fq x, y, z;
};

__constant__ const u64 P[4] = {0x3c208c16d87cfd47ULL, 0x97816a916871ca8dULL, 0xb85045b68181585dULL,
                                0x30644e72e131a029ULL};
__constant__ const u64 R2[4] = {0xf32cfc5b538afa89ULL, 0xb5e71911d44501fbULL, 0x47ab1eff0a417ff6ULL,
                                 0x06d89f71cab8351fULL};
#define PINV 0x87d20782e4866389ULL

DEV u64 adc(u64 a, u64 b, u64 &carry) {
    u64 s = a + b;
    u64 c = s < a;
    u64 t = s + carry;
    c += t < s;
    carry = c;
    return t;
}

DEV u64 sbb(u64 a, u64 b, u64 &borrow) {
    u64 d = a - b;
    u64 o = a < b;
    u64 t = d - borrow;
    o += d < borrow;
    borrow = o;
    return t;
}

// a + b * c + carry, carry out in `carry`.
DEV u64 mac(u64 a, u64 b, u64 c, u64 &carry) {
    u64 lo = b * c;
    u64 hi = MULHI(b, c);
    lo += a;
    hi += lo < a;
    lo += carry;
    hi += lo < carry;
    carry = hi;
    return lo;
}

DEV bool is_zero(const Fq &a) { return (a.l[0] | a.l[1] | a.l[2] | a.l[3]) == 0; }

DEV bool eq(const Fq &a, const Fq &b) {
    return ((a.l[0] ^ b.l[0]) | (a.l[1] ^ b.l[1]) | (a.l[2] ^ b.l[2]) | (a.l[3] ^ b.l[3])) == 0;
}

// r = a - p if a >= p (a < 2p), with `high` an extra top bit of a.
DEV Fq reduce_once(const Fq &a, u64 high) {
    Fq r;
    u64 borrow = 0;
    #pragma unroll
    for (int i = 0; i < 4; i++) r.l[i] = sbb(a.l[i], P[i], borrow);
    // Keep a when a < p: a borrow out of the subtraction not covered by the high bit.
    if (borrow > high) return a;
    return r;
}

DEV Fq add(const Fq &a, const Fq &b) {
    Fq r;
    u64 carry = 0;
    #pragma unroll
    for (int i = 0; i < 4; i++) r.l[i] = adc(a.l[i], b.l[i], carry);
    return reduce_once(r, carry);
}

DEV Fq sub(const Fq &a, const Fq &b) {
    Fq r;
    u64 borrow = 0;
    #pragma unroll
    for (int i = 0; i < 4; i++) r.l[i] = sbb(a.l[i], b.l[i], borrow);
    if (borrow) {
        u64 carry = 0;
        #pragma unroll
        for (int i = 0; i < 4; i++) r.l[i] = adc(r.l[i], P[i], carry);
    }
    return r;
}

DEV Fq dbl(const Fq &a) { return add(a, a); }

DEV Fq neg(const Fq &a) {
    if (is_zero(a)) return a;
    Fq r;
    u64 borrow = 0;
    #pragma unroll
    for (int i = 0; i < 4; i++) r.l[i] = sbb(P[i], a.l[i], borrow);
    return r;
}

// Montgomery product a · b · 2^-256 mod p (CIOS).
DEV Fq mul(const Fq &a, const Fq &b) {
    u64 t[6] = {0, 0, 0, 0, 0, 0};
    #pragma unroll
    for (int i = 0; i < 4; i++) {
        u64 carry = 0;
        #pragma unroll
        for (int j = 0; j < 4; j++) t[j] = mac(t[j], a.l[j], b.l[i], carry);
        u64 c2 = 0;
        t[4] = adc(t[4], carry, c2);
        t[5] = c2;
        u64 m = t[0] * PINV;
        carry = 0;
        mac(t[0], m, P[0], carry);
        #pragma unroll
        for (int j = 1; j < 4; j++) t[j - 1] = mac(t[j], m, P[j], carry);
        c2 = 0;
        t[3] = adc(t[4], carry, c2);
        t[4] = t[5] + c2;
    }
    Fq r = {{t[0], t[1], t[2], t[3]}};
    return reduce_once(r, t[4]);
}

DEV Fq sqr(const Fq &a) { return mul(a, a); }

DEV Jac infinity() {
    Jac r;
    #pragma unroll
    for (int i = 0; i < 4; i++) {
        r.x.l[i] = 0;
        r.y.l[i] = 0;
        r.z.l[i] = 0;
    }
    return r;
}

DEV bool is_inf(const Jac &p) { return is_zero(p.z); }

// Montgomery form of 1.
DEV Fq one() {
    Fq r = {{0xd35d438dc58f0d9dULL, 0x0a78eb28f5c70b3dULL, 0x666ea36f7879462cULL, 0x0e0a77c19a07df2fULL}};
    return r;
}

// dbl-2009-l (a = 0).
DEV Jac jdbl(const Jac &p) {
    if (is_inf(p)) return p;
    Fq a = sqr(p.x), b = sqr(p.y), c = sqr(b);
    Fq d = dbl(sub(sub(sqr(add(p.x, b)), a), c));
    Fq e = add(dbl(a), a), f = sqr(e);
    Jac r;
    r.x = sub(f, dbl(d));
    Fq c8 = dbl(dbl(dbl(c)));
    r.y = sub(mul(e, sub(d, r.x)), c8);
    r.z = dbl(mul(p.y, p.z));
    return r;
}

// madd-2007-bl: p + (qx, qy), q not infinity.
DEV Jac jmadd(const Jac &p, const Fq &qx, const Fq &qy) {
    if (is_inf(p)) {
        Jac r;
        r.x = qx;
        r.y = qy;
        r.z = one();
        return r;
    }
    Fq z1z1 = sqr(p.z);
    Fq u2 = mul(qx, z1z1);
    Fq s2 = mul(qy, mul(p.z, z1z1));
    Fq h = sub(u2, p.x);
    Fq rr = dbl(sub(s2, p.y));
    if (is_zero(h)) {
        if (is_zero(rr)) return jdbl(p);
        return infinity();
    }
    Fq hh = sqr(h);
    Fq i = dbl(dbl(hh));
    Fq j = mul(h, i);
    Fq v = mul(p.x, i);
    Jac r;
    r.x = sub(sub(sqr(rr), j), dbl(v));
    r.y = sub(mul(rr, sub(v, r.x)), dbl(mul(p.y, j)));
    r.z = sub(sub(sqr(add(p.z, h)), z1z1), hh);
    return r;
}

// add-2007-bl.
DEV Jac jadd(const Jac &p, const Jac &q) {
    if (is_inf(p)) return q;
    if (is_inf(q)) return p;
    Fq z1z1 = sqr(p.z), z2z2 = sqr(q.z);
    Fq u1 = mul(p.x, z2z2), u2 = mul(q.x, z1z1);
    Fq s1 = mul(p.y, mul(q.z, z2z2)), s2 = mul(q.y, mul(p.z, z1z1));
    Fq h = sub(u2, u1);
    Fq rr = dbl(sub(s2, s1));
    if (is_zero(h)) {
        if (is_zero(rr)) return jdbl(p);
        return infinity();
    }
    Fq i = sqr(dbl(h));
    Fq j = mul(h, i);
    Fq v = mul(u1, i);
    Jac r;
    r.x = sub(sub(sqr(rr), j), dbl(v));
    r.y = sub(mul(rr, sub(v, r.x)), dbl(mul(s1, j)));
    r.z = mul(sub(sub(sqr(add(p.z, q.z)), z1z1), z2z2), h);
    return r;
}

// k · p for a small k (double and add).
DEV Jac jmul_small(const Jac &p, u32 k) {
    Jac r = infinity();
    for (int b = 31; b >= 0; b--) {
        r = jdbl(r);
        if ((k >> b) & 1) r = jadd(r, p);
    }
    return r;
}

#ifdef __CUDACC_RTC__
#define THREAD_ID (blockIdx.x * blockDim.x + threadIdx.x)
#define ATOMIC_ADD(ptr, v) atomicAdd(ptr, v)
#define FOR_THREADS(i, n) for (u32 i = THREAD_ID; i < (n); i += blockDim.x * gridDim.x)
#else
#define ATOMIC_ADD(ptr, v) ((*(ptr) += (v)) - (v))
#define FOR_THREADS(i, n) for (u32 i = 0; i < (n); i++)
#endif

// Canonical affine coordinates (8 limbs per point) to Montgomery form, in place.
KERNEL void to_montgomery(u64 *points, u32 n) {
    FOR_THREADS(i, 2 * n) {
        Fq a, r2;
        #pragma unroll
        for (int k = 0; k < 4; k++) {
            a.l[k] = points[4 * i + k];
            r2.l[k] = R2[k];
        }
        Fq m = mul(a, r2);
        #pragma unroll
        for (int k = 0; k < 4; k++) points[4 * i + k] = m.l[k];
    }
}

// The `c`-bit digit of window `w` of a 4-limb magnitude.
DEV u32 digit(const u64 *mag, u32 w, u32 c) {
    u32 bit = w * c;
    u32 limb = bit / 64, shift = bit % 64;
    u64 v = mag[limb] >> shift;
    if (shift + c > 64 && limb < 3) v |= mag[limb + 1] << (64 - shift);
    return (u32)(v & ((1ULL << c) - 1));
}

// keys[w * n + i] = w * 2^c + digit (0: no bucket); counts[key] += 1.
KERNEL void digits(const u64 *mags, u32 n, u32 c, u32 windows, u32 *keys, u32 *counts) {
    FOR_THREADS(t, n * windows) {
        u32 w = t / n, i = t % n;
        u32 d = digit(mags + 4 * i, w, c);
        u32 key = d ? (w << c) + d : 0;
        keys[t] = key;
        if (d) ATOMIC_ADD(&counts[key], 1u);
    }
}

// sorted[cursor[key]++] = i | sign bit, for every nonzero key.
KERNEL void scatter(const u32 *keys, const u32 *signs, u32 n, u32 windows, u32 *cursor, u32 *sorted) {
    FOR_THREADS(t, n * windows) {
        u32 key = keys[t];
        if (key) {
            u32 i = t % n;
            u32 at = ATOMIC_ADD(&cursor[key], 1u);
            sorted[at] = i | (signs[i] << 31);
        }
    }
}

DEV void store(u64 *out, const Jac &p) {
    #pragma unroll
    for (int k = 0; k < 4; k++) {
        out[k] = p.x.l[k];
        out[4 + k] = p.y.l[k];
        out[8 + k] = p.z.l[k];
    }
}

DEV Jac load(const u64 *in) {
    Jac p;
    #pragma unroll
    for (int k = 0; k < 4; k++) {
        p.x.l[k] = in[k];
        p.y.l[k] = in[4 + k];
        p.z.l[k] = in[8 + k];
    }
    return p;
}

// buckets[key] = Σ of the (signed) points sorted into it; 12 limbs per bucket.
KERNEL void bucket_sums(const u64 *bases, const u32 *sorted, const u32 *offsets, const u32 *counts, u32 keys,
                        u64 *buckets) {
    FOR_THREADS(key, keys) {
        Jac acc = infinity();
        u32 start = offsets[key], end = start + counts[key];
        for (u32 s = start; s < end; s++) {
            u32 entry = sorted[s];
            u32 i = entry & 0x7fffffffu;
            Fq x, y;
            #pragma unroll
            for (int k = 0; k < 4; k++) {
                x.l[k] = bases[8 * i + k];
                y.l[k] = bases[8 * i + 4 + k];
            }
            if (is_zero(x) && is_zero(y)) continue;  // the point at infinity
            if (entry >> 31) y = neg(y);
            acc = jmadd(acc, x, y);
        }
        store(buckets + 12 * key, acc);
    }
}

// For segment `s` of window `w` (digits lo..hi): Σ d · B_d, by running sums.
KERNEL void segment_sums(const u64 *buckets, u32 c, u32 windows, u32 segments, u64 *out) {
    FOR_THREADS(t, windows * segments) {
        u32 w = t / segments, s = t % segments;
        u32 per = (1u << c) / segments;
        u32 lo = s * per, hi = lo + per - 1;
        if (lo == 0) lo = 1;
        Jac running = infinity(), acc = infinity();
        for (u32 d = hi; d >= lo; d--) {
            running = jadd(running, load(buckets + 12 * ((w << c) + d)));
            acc = jadd(acc, running);
        }
        // acc = Σ (d - lo + 1) B_d; add (lo - 1) · Σ B_d.
        acc = jadd(acc, jmul_small(running, lo - 1));
        store(out + 12 * t, acc);
    }
}

KERNEL void window_sums(const u64 *segment_sums, u32 windows, u32 segments, u64 *out) {
    FOR_THREADS(w, windows) {
        Jac acc = infinity();
        for (u32 s = 0; s < segments; s++) acc = jadd(acc, load(segment_sums + 12 * (w * segments + s)));
        store(out + 12 * w, acc);
    }
}

// out = Σ_w 2^(w c) · window_w, converted out of Montgomery form (canonical limbs).
KERNEL void combine(const u64 *window_sums, u32 c, u32 windows, u64 *out) {
    FOR_THREADS(t, 1) {
        Jac acc = infinity();
        for (int w = (int)windows - 1; w >= 0; w--) {
            for (u32 b = 0; b < c; b++) acc = jdbl(acc);
            acc = jadd(acc, load(window_sums + 12 * w));
        }
        Fq unit = {{1, 0, 0, 0}};
        acc.x = mul(acc.x, unit);
        acc.y = mul(acc.y, unit);
        acc.z = mul(acc.z, unit);
        store(out, acc);
    }
}
