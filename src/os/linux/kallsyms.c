// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kallsyms: find the kernel's compressed symbol tables in a window of guest
 * memory by their structure, decode them, and look symbols up.
 *
 * What scripts/kallsyms.c emits (all labels 8-byte aligned on 64-bit):
 *   <= 6.1:   offsets|addresses, relative_base, num_syms, names, markers,
 *             token_table, token_index
 *   6.2-6.3:  the same with seqs_of_names between markers and token_table
 *             (u32 entries at first, then 3 bytes each)
 *   >= 6.4:   num_syms, names, markers, token_table, token_index,
 *             offsets|addresses, relative_base, seqs_of_names
 *             (commit "scripts/kallsyms: change the output order")
 * Markers were PTR-sized before they became .long, so both widths are
 * accepted.  On 32-bit kernels PTR is .long and ALGN is 4 bytes, so
 * relative_base is 4 bytes and num_syms has no padding after it: every
 * "8" above becomes "4" (struct kbuf's w, tried 8 first, then 4).  Names are length-prefixed; since 6.1 the length is a one- or
 * two-byte ULEB128 (commit 73bbb94466fd "kallsyms: support big symbols").
 *
 * The anchor is the token table: every digit occurs in some symbol, so
 * tokens 0x30..0x39 are the digits themselves and the table holds the bytes
 * "0\0" "1\0" ... "9\0".  The token index right after it (256 increasing
 * u16 offsets consistent with the token lengths) confirms it.  Everything
 * else is found relative to that pair and cross-checked: num_syms against
 * the markers, the markers against the decoded names, the addresses for
 * order.
 */
#include <stdlib.h>
#include <string.h>

#include "linux.h"

static const char anchor[] = "0\0001\0002\0003\0004\0005\0006\0007\0008\0009";

enum {
	ANCHOR_LEN = sizeof(anchor), /* includes the last NUL */
	MAX_ANCHORS = 256, /* digit runs tried per buffer (UTF-16 tables) */
	TOKEN_SPAN = 64 * 1024, /* token table + index after the anchor */
	MAX_VERIFY = 64, /* full candidate checks per anchor */
	NAME_ENTRY_MAX = 2 + 0x3fff,
	TOKEN_COPY = 16, /* tokens this short are copied in one go */
};

struct kbuf {
	const uint8_t *p;
	uint64_t len;
	unsigned int w; /* pointer size and label alignment: 8 or 4 */
};

static bool kb_has(const struct kbuf *b, uint64_t off, uint64_t n)
{
	return off <= b->len && n <= b->len - off;
}

static uint16_t rd16(const struct kbuf *b, uint64_t off)
{
	uint16_t v;

	memcpy(&v, b->p + off, sizeof(v));
	return v;
}

static uint32_t rd32(const struct kbuf *b, uint64_t off)
{
	uint32_t v;

	memcpy(&v, b->p + off, sizeof(v));
	return v;
}

static uint64_t rd64(const struct kbuf *b, uint64_t off)
{
	uint64_t v;

	memcpy(&v, b->p + off, sizeof(v));
	return v;
}

/* A PTR-sized value. */
static uint64_t rdw(const struct kbuf *b, uint64_t off)
{
	return b->w == 8 ? rd64(b, off) : rd32(b, off);
}

static uint64_t alignw(const struct kbuf *b, uint64_t v)
{
	return (v + b->w - 1) & ~(uint64_t)(b->w - 1);
}

/* x86_64 kernel map; on 32-bit, above the lowest PAGE_OFFSET of any
 * VMSPLIT choice (1G/3G split: 0x40000000). */
static bool is_kernel_va(const struct kbuf *b, uint64_t v)
{
	if (b->w == 8)
		return v >= QVMI_LINUX_START_KERNEL_MAP;
	return v >= QVMI_LINUX_PAGE_OFFSET32_MIN && v <= UINT32_MAX;
}

/* ---- token table and index ---------------------------------------------- */

struct tokens {
	uint64_t table, index;
	uint16_t idx[256];
	uint16_t len[256];
};

static bool token_ok(const struct kbuf *b, uint64_t at, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		if (b->p[at + i] < 0x20 || b->p[at + i] > 0x7e)
			return false;
	return b->p[at + len] == 0;
}

/* Is there a token index at i whose table holds token 0x30 at h? */
static bool tokens_at(const struct kbuf *b, uint64_t h, uint64_t i,
		      struct tokens *tk)
{
	uint64_t t, end, n;

	if (!kb_has(b, i, 512) || rd16(b, i) != 0)
		return false;
	for (int c = 0; c < 256; c++) {
		tk->idx[c] = rd16(b, i + 2 * c);
		if (c && tk->idx[c] <= tk->idx[c - 1])
			return false;
	}
	/* (idx[0] is 0, so a t that wrapped below 0 would fail kb_has at
	 * c = 0 below too: this only says why) */
	if (tk->idx[0x30] > h || ((h - tk->idx[0x30]) & (b->w - 1)))
		return false;
	t = h - tk->idx[0x30];
	for (int c = 0; c < 255; c++) {
		n = (uint64_t)(tk->idx[c + 1] - tk->idx[c] - 1);
		if (!kb_has(b, t + tk->idx[c], n + 1) ||
		    !token_ok(b, t + tk->idx[c], n))
			return false;
		tk->len[c] = (uint16_t)n;
	}
	end = t + tk->idx[255];
	for (n = 0; n < 256 && end + n < i && b->p[end + n]; n++)
		;
	if (end + n >= i || !token_ok(b, end, n))
		return false;
	tk->len[255] = (uint16_t)n;
	if (alignw(b, end + n + 1) != i)
		return false;
	tk->table = t;
	tk->index = i;
	return true;
}

static bool find_tokens(const struct kbuf *b, uint64_t h, struct tokens *tk)
{
	for (uint64_t i = alignw(b, h + ANCHOR_LEN);
	     i < h + TOKEN_SPAN && kb_has(b, i, 512); i += b->w)
		if (tokens_at(b, h, i, tk))
			return true;
	return false;
}

bool qvmi__kallsyms_tokens_at(const uint8_t *buf, size_t len, uint64_t h)
{
	struct kbuf b = { buf, len, 8 };
	struct kbuf b4 = { buf, len, 4 };
	struct tokens tk;

	return kb_has(&b, h, ANCHOR_LEN) &&
	       !memcmp(buf + h, anchor, ANCHOR_LEN) &&
	       (find_tokens(&b, h, &tk) || find_tokens(&b4, h, &tk));
}

/* ---- names, markers, addresses -------------------------------------------- */

/* Length of the names entry at off: bytes of the prefix in *hdr. */
static bool name_entry(const struct kbuf *b, uint64_t off, uint64_t limit,
		       uint32_t *len, uint32_t *hdr)
{
	uint8_t b0;

	/* Every limit (token table, markers' start, markers) is inside the
	 * buffer and no walk passes it, so these two only save reading the
	 * byte at limit; the last test refuses such an entry anyway.  And an
	 * entry past limit moves the walk's end past the next table, which
	 * every caller requires to follow it (tests/mutate/bounds.list). */
	if (off >= limit)
		return false;
	b0 = b->p[off];
	if (b0 & 0x80) {
		if (off + 1 >= limit)
			return false;
		*len = (b0 & 0x7fu) | ((uint32_t)b->p[off + 1] << 7);
		*hdr = 2;
	} else {
		*len = b0;
		*hdr = 1;
	}
	return *len && off + *hdr + *len <= limit;
}

/* Walk count entries from off without passing limit; *ret = end.  With
 * starts, the offset (from off) of every 256th entry goes there: what
 * kallsyms_markers must hold. */
static bool walk_names(const struct kbuf *b, uint64_t off, uint64_t count,
		       uint64_t limit, uint64_t *ret, uint64_t *starts)
{
	uint64_t base = off;
	uint32_t len, hdr;

	for (uint64_t i = 0; i < count; i++) {
		if (starts && !(i & 255))
			starts[i >> 8] = off - base;
		if (!name_entry(b, off, limit, &len, &hdr))
			return false;
		off += hdr + len;
	}
	*ret = off;
	return true;
}

static bool markers_match(const struct kbuf *b, uint64_t pos, unsigned int w,
			  const uint64_t *starts, uint32_t num)
{
	uint64_t m = (num + 255ull) / 256;

	if (!kb_has(b, pos, m * w))
		return false;
	for (uint64_t k = 0; k < m; k++) {
		uint64_t v = w == 8 ? rd64(b, pos + k * 8) :
				      rd32(b, pos + k * 4);

		if (v != starts[k])
			return false;
	}
	return true;
}

/* Decode addresses at pos in one of the layouts; must be non-decreasing. */
static bool decode_addrs(const struct kbuf *b, struct qvmi_kallsyms_layout *l,
			 uint64_t pos, uint64_t *out)
{
	uint32_t n = l->num_syms;
	bool neg = false;

	if (!kb_has(b, pos, (uint64_t)n * (l->base_relative ? 4 : b->w))) {
		l->truncated = true;
		return false;
	}
	if (l->base_relative) /* absolute-percpu mode uses negative values */
		for (uint32_t i = 0; i < n && !neg; i++)
			neg = (int32_t)rd32(b, pos + 4ull * i) < 0;
	for (uint32_t i = 0; i < n; i++) {
		if (!l->base_relative) {
			out[i] = rdw(b, pos + (uint64_t)b->w * i);
		} else {
			int32_t o = (int32_t)rd32(b, pos + 4ull * i);

			if (!neg)
				out[i] = l->relative_base + (uint32_t)o;
			else if (o >= 0)
				out[i] = (uint64_t)o;
			else
				out[i] = l->relative_base - 1 - (int64_t)o;
		}
		if (i && out[i] < out[i - 1])
			return false;
	}
	/* Whatever the encoding, the highest symbol is in the kernel image
	 * (zeros would otherwise pass as "sorted"). */
	if (!n || !is_kernel_va(b, out[n - 1]))
		return false;
	l->abs_percpu = neg;
	l->addrs = pos;
	return true;
}

/* Old order: offsets+relative_base or addresses just before num_syms. New
 * order: right after the token index. */
static bool find_addrs(const struct kbuf *b, struct qvmi_kallsyms_layout *l,
		       uint64_t *out)
{
	uint64_t n = l->num_syms, N = l->num_syms_pos, rb, pos, w = b->w;

	if (N >= w && is_kernel_va(b, rb = rdw(b, N - w))) {
		l->new_order = false;
		l->base_relative = true;
		l->relative_base = rb;
		l->relative_base_pos = N - w;
		if (N - w >= alignw(b, 4 * n) &&
		    decode_addrs(b, l, N - w - alignw(b, 4 * n), out))
			return true;
		if (N - w < alignw(b, 4 * n))
			l->truncated = true;
		l->base_relative = false;
		if (N >= w * n && decode_addrs(b, l, N - w * n, out))
			return true;
	}
	l->new_order = true;
	pos = l->token_index + 512;
	l->base_relative = true;
	l->relative_base_pos = alignw(b, pos + 4 * n);
	if (kb_has(b, l->relative_base_pos, w) &&
	    is_kernel_va(b, rb = rdw(b, l->relative_base_pos))) {
		l->relative_base = rb;
		if (decode_addrs(b, l, pos, out))
			return true;
	} else if (!kb_has(b, l->relative_base_pos, w)) {
		l->truncated = true;
	}
	l->base_relative = false;
	l->relative_base = 0;
	return decode_addrs(b, l, pos, out);
}

/* Is N (kallsyms_num_syms) consistent with names, markers and tokens? */
static bool verify_num_syms(const struct kbuf *b, const struct tokens *tk,
			    uint64_t N, struct qvmi_kallsyms_layout *l)
{
	uint64_t names = N + b->w, end, mpos, mend, m, *starts;
	uint32_t num;
	bool ok = false;

	if ((N & (b->w - 1)) || !kb_has(b, N, b->w))
		return false;
	num = rd32(b, N);
	/* On 64-bit the names label's alignment pads num_syms to 8. */
	if (!num || num > QVMI_KSYMS_MAX || (b->w == 8 && rd32(b, N + 4)))
		return false;
	m = (num + 255ull) / 256;
	starts = malloc(m * sizeof(*starts));
	if (starts && walk_names(b, names, num, tk->table, &end, starts))
		ok = true;
	mpos = ok ? alignw(b, end) : 0;
	memset(l, 0, sizeof(*l));
	for (unsigned int w = 4; ok && w <= b->w; w += 4) {
		if (!markers_match(b, mpos, w, starts, num))
			continue;
		mend = mpos + m * w;
		if (alignw(b, mend) == tk->table)
			l->seqs_width = 0;
		else if (alignw(b, alignw(b, mend) + 3ull * num) == tk->table)
			l->seqs_width = 3;
		else if (alignw(b, alignw(b, mend) + 4ull * num) == tk->table)
			l->seqs_width = 4;
		else
			continue;
		l->marker_width = w;
		break;
	}
	free(starts);
	if (!l->marker_width)
		return false;
	l->ptr_size = b->w;
	l->token_table = tk->table;
	l->token_index = tk->index;
	l->num_syms_pos = N;
	l->names = names;
	l->markers = mpos;
	l->num_syms = num;
	return true;
}

/* ---- candidates for kallsyms_num_syms -------------------------------------- */

/*
 * Markers directly before the token table (<= 6.1, >= 6.4): walk them back
 * to markers[0] == 0, then look for num_syms below the names they index; the
 * last block of names must end right at the markers.
 */
static int cand_from_markers(const struct kbuf *b, const struct tokens *tk,
			     unsigned int w, uint64_t mend, uint64_t *out,
			     int max)
{
	uint64_t pos = mend, last = 0, prev = UINT64_MAX, mstart, m = 0;
	int n = 0;

	if (mend > b->len)
		return 0;
	while (pos >= w && m <= QVMI_KSYMS_MAX / 256 + 1) {
		uint64_t v;

		pos -= w;
		v = w == 8 ? rd64(b, pos) : rd32(b, pos);
		if (v >= prev)
			return 0;
		if (!m)
			last = v;
		prev = v;
		m++;
		if (!v)
			break;
	}
	if (prev || (pos & (b->w - 1)))
		return 0;
	mstart = pos;
	if (last + 2 + b->w > mstart)
		return 0;
	/* Names start S: num at S-w, last block from S+last to mstart. */
	for (uint64_t s = (mstart - last - 2) & ~(uint64_t)(b->w - 1);
	     s >= b->w && s + last + 256ull * NAME_ENTRY_MAX >= mstart &&
	     n < max;
	     s -= b->w) {
		uint32_t num = rd32(b, s - b->w);
		uint64_t end;

		if (s + last >= mstart || (b->w == 8 && rd32(b, s - 4)) ||
		    !num || (num + 255ull) / 256 != m)
			continue;
		if (walk_names(b, s + last, num - (m - 1) * 256, mstart, &end,
			       NULL) &&
		    alignw(b, end) == mstart)
			out[n++] = s - b->w;
	}
	return n;
}

/* Old order: relative_base (or the last address), a kernel VA, right before
 * num_syms, itself followed by 4 bytes of padding. */
static int cand_from_signature(const struct kbuf *b, const struct tokens *tk,
			       uint64_t *out, int max)
{
	int n = 0;

	for (uint64_t p = tk->table & ~(uint64_t)(b->w - 1);
	     p >= 2ull * b->w && n < max; p -= b->w) {
		uint32_t num = rd32(b, p);

		if (num && num <= QVMI_KSYMS_MAX &&
		    (b->w == 4 || !rd32(b, p + 4)) &&
		    is_kernel_va(b, rdw(b, p - b->w)) &&
		    p + b->w + 2ull * num <= tk->table)
			out[n++] = p;
	}
	return n;
}

/* ---- decoding ---------------------------------------------------------------- */

/*
 * An upper bound of the decoded names' bytes without walking the entries:
 * every byte of the names region expanded as a token.  The length prefixes
 * (and the padding before the markers) count too, a few hundred KB too
 * many on 6.1, which a populated allocation on huge pages does not mind;
 * the exact count was a walk costing a fifth of the decoding.  Four
 * histograms: consecutive equal bytes would else wait on each other.
 */
static uint64_t pool_bound(const struct kbuf *b, const struct tokens *tk,
			   const struct qvmi_kallsyms_layout *l)
{
	uint32_t h[4][256] = { { 0 } };
	const uint8_t *p = b->p + l->names, *e = b->p + l->markers;
	uint64_t sum = 0;

	/* the region is inside the buffer (verify_num_syms), < 4 GiB */
	for (; e - p >= 4; p += 4) {
		h[0][p[0]]++;
		h[1][p[1]]++;
		h[2][p[2]]++;
		h[3][p[3]]++;
	}
	for (; p < e; p++)
		h[0][*p]++;
	for (int c = 0; c < 256; c++)
		sum += ((uint64_t)h[0][c] + h[1][c] + h[2][c] + h[3][c]) *
		       tk->len[c];
	return sum;
}

/* Each token padded to TOKEN_COPY bytes, so that a short one is copied in
 * one fixed-size move from a 4 KiB table that stays in L1. */
struct tok_copy {
	uint8_t b[256][TOKEN_COPY];
};

static void tok_copy_init(const struct kbuf *b, const struct tokens *tk,
			  struct tok_copy *tc)
{
	memset(tc, 0, sizeof(*tc));
	for (int c = 0; c < 256; c++)
		memcpy(tc->b[c], b->p + tk->table + tk->idx[c],
		       QVMI_MIN((size_t)tk->len[c], (size_t)TOKEN_COPY));
}

/* Decode the name at off into name (its type character first); the
 * length, or -1 if it is not a valid name. */
static int expand_one(const struct kbuf *b, const struct tokens *tk,
		      const struct tok_copy *tc, const uint8_t *in,
		      uint32_t len, char *name)
{
	size_t nl = 0;

	for (uint32_t j = 0; j < len; j++) {
		uint8_t c = in[j];
		uint16_t tl = tk->len[c];

		/* name has TOKEN_COPY bytes of slack past NAME_MAX */
		if (nl > QVMI_KSYM_NAME_MAX)
			return -1;
		if (tl - 1u < TOKEN_COPY) {
			memcpy(name + nl, tc->b[c], TOKEN_COPY);
		} else if (!tl || nl + tl > QVMI_KSYM_NAME_MAX) {
			return -1;
		} else {
			memcpy(name + nl, b->p + tk->table + tk->idx[c], tl);
		}
		nl += tl;
	}
	return nl < 2 || nl > QVMI_KSYM_NAME_MAX ? -1 : (int)nl;
}

/* qvmi__ksyms_add into the table reserved by expand_all, inlined: the
 * call and its variable-length copy were a sixth of the decoding.  name
 * holds the type character, then nl - 1 characters and TOKEN_COPY bytes
 * of slack; the pool has TOKEN_COPY bytes of slack too. */
static bool add_reserved(struct qvmi_ksyms *s, uint64_t addr, const char *name,
			 size_t nl)
{
	size_t len = nl - 1;
	char *dst = s->pool + s->pool_len;

	if (s->n == s->syms_cap || len + TOKEN_COPY > s->pool_cap - s->pool_len)
		return false;
	for (size_t k = 0; k < len; k += TOKEN_COPY)
		memcpy(dst + k, name + 1 + k, TOKEN_COPY);
	dst[len] = '\0';
	s->syms[s->n].addr = addr;
	s->syms[s->n].name = (uint32_t)s->pool_len;
	s->syms[s->n].type = name[0];
	s->n++;
	s->pool_len += len + 1;
	return true;
}

static int expand_all(struct qvmi_ctx *ctx, const struct kbuf *b,
		      const struct tokens *tk,
		      const struct qvmi_kallsyms_layout *l,
		      const uint64_t *addrs, struct qvmi_ksyms *s)
{
	/* slack: short tokens are copied TOKEN_COPY bytes at a time */
	char name[QVMI_KSYM_NAME_MAX + 1 + TOKEN_COPY];
	uint64_t off = l->names, pool = pool_bound(b, tk, l);
	struct tok_copy tc;
	uint32_t len, hdr;
	int nl, err = 0;

	/* Each name loses its type character and gains a NUL. */
	if (pool > QVMI_KSYMS_POOL_MAX)
		return qvmi__err(ctx, -EBADMSG, "kallsyms: names too long");
	if (qvmi__ksyms_reserve(s, l->num_syms, (size_t)pool + TOKEN_COPY))
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	tok_copy_init(b, tk, &tc);
	for (uint32_t i = 0; !err && i < l->num_syms; i++) {
		if (!name_entry(b, off, l->markers, &len, &hdr)) {
			err = qvmi__err(ctx, -EBADMSG,
					"kallsyms: bad name entry %u", i);
			break;
		}
		nl = expand_one(b, tk, &tc, b->p + off + hdr, len, name);
		if (nl < 0)
			err = qvmi__err(ctx, -EBADMSG, "kallsyms: bad name %u",
					i);
		else if (!add_reserved(s, addrs[i], name, (size_t)nl))
			err = qvmi__err(ctx, -ENOMEM, "out of memory");
		off += hdr + len;
	}
	if (!err && qvmi__ksyms_finish(s))
		err = qvmi__err(ctx, -ENOMEM, "out of memory");
	return err;
}

/* Try every num_syms candidate around one token table; 1 when decoded. */
static int try_tokens(struct qvmi_ctx *ctx, const struct kbuf *b,
		      const struct tokens *tk, struct qvmi_ksyms *s,
		      struct qvmi_kallsyms_layout *lay)
{
	uint64_t cand[MAX_VERIFY], *addrs = NULL;
	struct qvmi_kallsyms_layout l;
	size_t nalloc = 0;
	int n = 0, rc = 0;

	n += cand_from_markers(b, tk, 4, tk->table, cand + n, MAX_VERIFY - n);
	n += cand_from_markers(b, tk, 4, tk->table - 4, cand + n,
			       MAX_VERIFY - n);
	if (b->w == 8)
		n += cand_from_markers(b, tk, 8, tk->table, cand + n,
				       MAX_VERIFY - n);
	for (int i = 0, sig = 0;; i++) {
		/* The signature scan walks back over the whole buffer (a
		 * twentieth of decoding a kernel): only when no candidate
		 * from the markers decoded, in the same order as before. */
		if (i == n && !sig++)
			n += cand_from_signature(b, tk, cand + n,
						 MAX_VERIFY - n);
		if (i >= n)
			break;
		if (!verify_num_syms(b, tk, cand[i], &l))
			continue;
		qvmi__lx_big_free(addrs, nalloc);
		/* populated: 0.75 MB on Debian 6.1, a fault per page else */
		nalloc = sizeof(*addrs) * (l.num_syms ? l.num_syms : 1);
		addrs = qvmi__lx_big_alloc(nalloc);
		if (!addrs)
			return qvmi__err(ctx, -ENOMEM, "out of memory");
		if (!find_addrs(b, &l, addrs)) {
			lay->truncated |= l.truncated;
			continue;
		}
		rc = expand_all(ctx, b, tk, &l, addrs, s);
		if (!rc) {
			*lay = l;
			rc = 1;
			break;
		}
		qvmi__ksyms_free(s);
		if (rc == -ENOMEM)
			break;
		rc = 0; /* a later candidate may still work */
	}
	qvmi__lx_big_free(addrs, nalloc);
	return rc;
}

/* The token tables at anchor h, tried with 8- then 4-byte words: 1 when
 * decoded, 0 if not, < 0 to stop (-ENOMEM). */
static int try_anchor(struct qvmi_ctx *ctx, const uint8_t *buf, size_t len,
		      uint64_t h, struct qvmi_ksyms *syms,
		      struct qvmi_kallsyms_layout *lay, int *tables)
{
	struct tokens tk;
	int rc;

	/* 64-bit first: its 8-byte alignment is the stricter. */
	for (unsigned int w = 8; w >= 4; w -= 4) {
		struct kbuf b = { buf, len, w };

		if (!find_tokens(&b, h, &tk))
			continue;
		(*tables)++;
		rc = try_tokens(ctx, &b, &tk, syms, lay);
		if (rc)
			return rc;
	}
	return 0;
}

int qvmi__kallsyms_parse_at(struct qvmi_ctx *ctx, const uint8_t *buf,
			    size_t len, uint64_t hint, struct qvmi_ksyms *syms,
			    struct qvmi_kallsyms_layout *lay)
{
	const uint8_t *p = buf, *hit;
	bool hinted = hint < len && len - hint >= ANCHOR_LEN &&
		      !memcmp(buf + hint, anchor, ANCHOR_LEN);
	int anchors = 0, tables = 0, rc = 0;

	memset(syms, 0, sizeof(*syms));
	memset(lay, 0, sizeof(*lay));
	/* The caller found the anchor already: no scan of the megabytes of
	 * names before it, unless that one fails. */
	if (hinted) {
		anchors++;
		rc = try_anchor(ctx, buf, len, hint, syms, lay, &tables);
	}
	while (!rc && anchors < MAX_ANCHORS &&
	       (hit = memmem(p, len - (size_t)(p - buf), anchor, ANCHOR_LEN))) {
		p = hit + 1;
		if (hinted && (uint64_t)(hit - buf) == hint)
			continue;
		anchors++;
		rc = try_anchor(ctx, buf, len, (uint64_t)(hit - buf), syms, lay,
				&tables);
	}
	if (rc)
		return rc < 0 ? rc : 0;
	if (!tables)
		return qvmi__err(ctx, -EBADMSG,
				 "kallsyms: no token table (%d digit runs)",
				 anchors);
	return qvmi__err(ctx, -EBADMSG,
			 "kallsyms: %d token table(s), no consistent "
			 "num_syms/names/markers/addresses%s",
			 tables, lay->truncated ? " (window too small?)" : "");
}

int qvmi__kallsyms_parse(struct qvmi_ctx *ctx, const uint8_t *buf, size_t len,
			 struct qvmi_ksyms *syms,
			 struct qvmi_kallsyms_layout *lay)
{
	return qvmi__kallsyms_parse_at(ctx, buf, len, UINT64_MAX, syms, lay);
}

/* ---- the symbol table --------------------------------------------------------- */

int qvmi__ksyms_reserve(struct qvmi_ksyms *s, size_t n, size_t pool)
{
	if (s->n || s->syms || s->pool || !n || n > QVMI_KSYMS_MAX ||
	    pool > QVMI_KSYMS_POOL_MAX)
		return -EINVAL;
	s->syms = qvmi__lx_big_alloc(n * sizeof(*s->syms));
	s->pool = qvmi__lx_big_alloc(pool ? pool : 1);
	if (!s->syms || !s->pool) {
		if (s->syms)
			qvmi__lx_big_free(s->syms, n * sizeof(*s->syms));
		if (s->pool)
			qvmi__lx_big_free(s->pool, pool ? pool : 1);
		s->syms = NULL;
		s->pool = NULL;
		return -ENOMEM;
	}
	s->syms_cap = n;
	s->pool_cap = pool ? pool : 1;
	s->reserved = true;
	return 0;
}

int qvmi__ksyms_add(struct qvmi_ksyms *s, uint64_t addr, char type,
		    const char *name, size_t name_len)
{
	if (s->n == s->syms_cap) {
		/* Doubling: a map of 2 M lines is 10 reallocs, not 488
		 * copies of up to 32 MB (bounds_text::map_text_bounds
		 * under ASan on this VM: 162 s before, 1.8 s now). */
		size_t cap = s->syms_cap ? 2 * s->syms_cap : 4096;
		struct qvmi_ksym *ns;

		if (s->reserved)
			return -ENOMEM;
		ns = realloc(s->syms, cap * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		s->syms = ns;
		s->syms_cap = cap;
	}
	if (name_len + 1 > s->pool_cap - s->pool_len && s->reserved)
		return -ENOMEM;
	if (name_len + 1 > s->pool_cap - s->pool_len) {
		size_t cap = QVMI_MAX(s->pool_cap * 2, (size_t)1 << 16);
		char *np;

		while (cap - s->pool_len < name_len + 1)
			cap *= 2;
		/* Not reached from a System.map of at most 256 MiB (its
		 * lines are longer than the names they add): a backstop. */
		if (cap > QVMI_KSYMS_POOL_MAX)
			return -ENOMEM;
		np = realloc(s->pool, cap);
		if (!np)
			return -ENOMEM;
		s->pool = np;
		s->pool_cap = cap;
	}
	memcpy(s->pool + s->pool_len, name, name_len);
	s->pool[s->pool_len + name_len] = '\0';
	s->syms[s->n].addr = addr;
	s->syms[s->n].name = (uint32_t)s->pool_len;
	s->syms[s->n].type = type;
	s->n++;
	s->pool_len += name_len + 1;
	return 0;
}

static int ksym_cmp(const void *a, const void *b)
{
	const struct qvmi_ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* Pool offsets grow with insertion order: a stable sort. */
	return x->name < y->name ? -1 : x->name > y->name;
}

/*
 * The name index's hash, 8 bytes a step (FxHash's rotate-xor-multiply,
 * then murmur3's finaliser so the low bits, the bucket, depend on every
 * byte): byte-wise FNV over the 2 MB of a 6.1 kernel's names was a sixth
 * of decoding it.
 */
static uint64_t ld64(const char *s)
{
	uint64_t v;

	memcpy(&v, s, 8);
	return v;
}

static uint64_t ld32(const char *s)
{
	uint32_t v;

	memcpy(&v, s, 4);
	return v;
}

static uint64_t hmix(uint64_t h, uint64_t w)
{
	return (((h << 5) | (h >> 59)) ^ w) * 0x9e3779b97f4a7c15ull;
}

static uint32_t name_hash(const char *s, size_t n)
{
	uint64_t h = n, w = 0;
	size_t i = 0;

	/* The last word overlaps the one before it, and short names are
	 * loaded in two overlapping halves: no byte loop for the tail. */
	if (n >= 8) {
		for (; i + 8 < n; i += 8)
			h = hmix(h, ld64(s + i));
		w = ld64(s + n - 8);
	} else if (n >= 4) {
		w = ld32(s) | ld32(s + n - 4) << 32;
	} else if (n) {
		w = (uint64_t)(uint8_t)s[0] | (uint64_t)(uint8_t)s[n / 2] << 8 |
		    (uint64_t)(uint8_t)s[n - 1] << 16;
	}
	h = hmix(h, w);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return (uint32_t)h;
}

/*
 * The name index is built by a counting sort on the hash instead of by
 * inserting into an open-addressing table: the inserts were random writes
 * over 2 MB of fresh memory, a TLB miss each, and 40% of decoding a
 * kernel's 94k symbols.  Here only the bucket counters (a quarter of that)
 * are written at random.
 */
int qvmi__ksyms_finish(struct qvmi_ksyms *s)
{
	size_t nb = 16, words, i;
	uint32_t *idx, *bk, *order;

	/* The kernel's table is sorted already (scripts/kallsyms sorts by
	 * address, then insertion order): skip qsort's 1.5 MB merge buffer. */
	for (i = 1; i < s->n; i++) {
		if (ksym_cmp(&s->syms[i - 1], &s->syms[i]) > 0) {
			qsort(s->syms, s->n, sizeof(*s->syms), ksym_cmp);
			break;
		}
	}
	while (nb < s->n / 2)
		nb *= 2;
	if (s->hash)
		qvmi__lx_big_free(s->hash, s->hash_cap * sizeof(*s->hash));
	s->hash_cap = s->hash_buckets = 0;
	words = nb + 1 + s->n;
	idx = qvmi__lx_big_alloc(words * sizeof(*idx)); /* zero-filled */
	bk = qvmi__lx_big_alloc((s->n ? s->n : 1) * sizeof(*bk));
	if (!idx || !bk) {
		if (idx)
			qvmi__lx_big_free(idx, words * sizeof(*idx));
		if (bk)
			qvmi__lx_big_free(bk, (s->n ? s->n : 1) * sizeof(*bk));
		s->hash = NULL;
		return -ENOMEM;
	}
	order = idx + nb + 1;
	for (i = 0; i < s->n; i++) {
		const char *nm = s->pool + s->syms[i].name;

		bk[i] = name_hash(nm, strlen(nm)) & (nb - 1);
		idx[bk[i] + 1]++;
	}
	for (i = 0; i < nb; i++)
		idx[i + 1] += idx[i];
	/* idx[b] is the next free slot of bucket b; afterwards it is the
	 * end of b, i.e. the start of b + 1: shift back. */
	for (i = 0; i < s->n; i++)
		order[idx[bk[i]]++] = (uint32_t)i;
	memmove(idx + 1, idx, nb * sizeof(*idx));
	idx[0] = 0;
	qvmi__lx_big_free(bk, (s->n ? s->n : 1) * sizeof(*bk));
	s->hash = idx;
	s->hash_cap = words;
	s->hash_buckets = nb;
	return 0;
}

void qvmi__ksyms_free(struct qvmi_ksyms *s)
{
	if (s->reserved) {
		if (s->syms)
			qvmi__lx_big_free(s->syms,
					  s->syms_cap * sizeof(*s->syms));
		if (s->pool)
			qvmi__lx_big_free(s->pool, s->pool_cap);
	} else {
		free(s->syms);
		free(s->pool);
	}
	if (s->hash)
		qvmi__lx_big_free(s->hash, s->hash_cap * sizeof(*s->hash));
	memset(s, 0, sizeof(*s));
}

const struct qvmi_ksym *qvmi__ksyms_find(const struct qvmi_ksyms *s,
					 const char *name)
{
	const uint32_t *order = s->hash + s->hash_buckets + 1;
	size_t b;

	if (!s->hash_buckets)
		return NULL;
	b = name_hash(name, strlen(name)) & (s->hash_buckets - 1);
	/* Ascending indices: the first match has the lowest address. */
	for (uint32_t k = s->hash[b]; k < s->hash[b + 1]; k++) {
		const struct qvmi_ksym *sym = &s->syms[order[k]];

		if (!strcmp(s->pool + sym->name, name))
			return sym;
	}
	return NULL;
}

const struct qvmi_ksym *qvmi__ksyms_lookup(const struct qvmi_ksyms *s,
					   uint64_t addr)
{
	size_t lo = 0, hi = s->n;

	if (!s->n || addr < s->syms[0].addr)
		return NULL;
	while (hi - lo > 1) { /* invariant: syms[lo].addr <= addr */
		size_t mid = lo + (hi - lo) / 2;

		if (s->syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return &s->syms[lo];
}

/* ---- System.map / /proc/kallsyms text ------------------------------------------ */

static int map_line(struct qvmi_ksyms *s, const char *l, size_t n)
{
	uint64_t addr = 0;
	size_t i = 0, ns;
	int digits = 0;

	for (; i < n && digits <= 16; i++, digits++) {
		char c = l[i];
		unsigned int d;

		if (c >= '0' && c <= '9')
			d = (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned int)(c - 'A' + 10);
		else
			break;
		addr = addr << 4 | d;
	}
	if (!digits || digits > 16 || i + 3 > n || l[i] != ' ' ||
	    l[i + 2] != ' ' || l[i + 1] <= ' ' || l[i + 1] > '~')
		return -EBADMSG;
	ns = i + 3;
	for (i = ns; i < n && l[i] > ' ' && l[i] <= '~'; i++)
		;
	if (i == ns || i - ns > QVMI_KSYM_NAME_MAX)
		return -EBADMSG;
	if (i < n && memchr(l + i, '[', n - i))
		return 0; /* a module symbol of /proc/kallsyms */
	return qvmi__ksyms_add(s, addr, l[ns - 2], l + ns, i - ns) ? -ENOMEM :
								     1;
}

int qvmi__ksyms_parse_map(struct qvmi_ctx *ctx, const char *text, size_t len,
			  struct qvmi_ksyms *s)
{
	size_t pos = 0, line = 0;
	bool nonzero = false;

	memset(s, 0, sizeof(*s));
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - text) - pos : len - pos;
		int rc;

		line++;
		if (n > 4096 || s->n >= QVMI_KSYMS_MAX) {
			qvmi__ksyms_free(s);
			return qvmi__err(ctx, -EBADMSG,
					 "symbol map: line %zu too long or "
					 "too many symbols",
					 line);
		}
		rc = n ? map_line(s, text + pos, n) : 0;
		if (rc < 0) {
			qvmi__ksyms_free(s);
			return qvmi__err(ctx, rc, "symbol map: bad line %zu",
					 line);
		}
		if (rc > 0 && s->syms[s->n - 1].addr)
			nonzero = true;
		pos += n + 1;
	}
	if (!s->n || !nonzero) {
		qvmi__ksyms_free(s);
		return qvmi__err(ctx, -EBADMSG, "symbol map: no symbols%s",
				 line ? " with non-zero addresses "
					"(kptr_restrict?)" :
					"");
	}
	if (qvmi__ksyms_finish(s)) {
		qvmi__ksyms_free(s);
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	}
	return 0;
}
