// SPDX-License-Identifier: LGPL-2.1-or-later
/* GDB remote serial protocol: pure decoders, see rsp.h. */
#include <errno.h>
#include <string.h>

#include "proto/rsp.h"

uint8_t qvmi__rsp_checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	unsigned int sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return (uint8_t)sum;
}

static void scan_packet(const uint8_t *buf, size_t len, size_t max_payload,
			struct qvmi_rsp_item *ret, int *err)
{
	const uint8_t *hash;
	size_t n = len - 1, plen;
	int hi, lo;

	*err = 0;
	/* Look for '#' only as far as a packet may reach.  This and the
	 * plen check below cover each other (either alone refuses a long
	 * packet with -EPROTO): this one bounds the search's work. */
	if (n > max_payload + 1)
		n = max_payload + 1;
	hash = memchr(buf + 1, '#', n);
	if (!hash) {
		if (len - 1 > max_payload)
			*err = -EPROTO;
		return; /* NEED_MORE */
	}
	plen = (size_t)(hash - (buf + 1));
	if (plen > max_payload) {
		*err = -EPROTO;
		return;
	}
	if (len < plen + 4)
		return;
	hi = qvmi__hexval(hash[1]);
	lo = qvmi__hexval(hash[2]);
	if (hi < 0 || lo < 0) {
		*err = -EPROTO;
		return;
	}
	ret->kind = buf[0] == '$' ? QVMI_RSP_PACKET : QVMI_RSP_NOTIFY;
	ret->consumed = plen + 4;
	ret->payload_off = 1;
	ret->payload_len = plen;
	ret->csum_ok = qvmi__rsp_checksum(buf + 1, plen) == (hi << 4 | lo);
}

int qvmi__rsp_scan(const uint8_t *buf, size_t len, size_t max_payload,
		   struct qvmi_rsp_item *ret)
{
	int err;

	memset(ret, 0, sizeof(*ret));
	if (!len)
		return 0;
	switch (buf[0]) {
	case '+':
		ret->kind = QVMI_RSP_ACK;
		break;
	case '-':
		ret->kind = QVMI_RSP_NACK;
		break;
	case 0x03:
		ret->kind = QVMI_RSP_INTR;
		break;
	case '$':
	case '%':
		scan_packet(buf, len, max_payload, ret, &err);
		return err;
	default:
		ret->kind = QVMI_RSP_GARBAGE;
		break;
	}
	ret->consumed = 1;
	return 0;
}

int qvmi__rsp_decode(const uint8_t *in, size_t len, bool binary, uint8_t *out,
		     size_t cap, size_t *ret_len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = in[i];

		if (c == '*') {
			size_t n;

			/* gdb: the count is c - 29, printable, never '#'/'$' */
			if (!o || i + 1 >= len || in[i + 1] < 32 ||
			    in[i + 1] > 126)
				return -EBADMSG;
			n = (size_t)in[++i] - 29;
			if (n > cap - o)
				return -EPROTO;
			memset(out + o, out[o - 1], n);
			o += n;
			continue;
		}
		if (binary && c == '}') {
			if (i + 1 >= len)
				return -EBADMSG;
			c = in[++i] ^ 0x20;
		}
		if (o >= cap)
			return -EPROTO;
		out[o++] = c;
	}
	*ret_len = o;
	return 0;
}

int qvmi__rsp_frame(const uint8_t *payload, size_t len, uint8_t *out,
		    size_t cap)
{
	size_t o = 0;
	unsigned int sum = 0;
	static const char hex[] = "0123456789abcdef";

	if (cap < 4)
		return -ENOSPC;
	out[o++] = '$';
	for (size_t i = 0; i < len; i++) {
		uint8_t c = payload[i];

		if (o + 2 > cap - 3)
			return -ENOSPC;
		if (c == '#' || c == '$' || c == '}' || c == '*') {
			out[o++] = '}';
			sum += '}';
			c ^= 0x20;
		}
		out[o++] = c;
		sum += c;
	}
	out[o++] = '#';
	out[o++] = (uint8_t)hex[(sum >> 4) & 0xf];
	out[o++] = (uint8_t)hex[sum & 0xf];
	return (int)o;
}

int qvmi__rsp_hex2bin(const char *hex, size_t hexlen, uint8_t *out, size_t cap,
		      size_t *ret_len)
{
	if (hexlen % 2)
		return -EBADMSG;
	if (hexlen / 2 > cap)
		return -EPROTO;
	for (size_t i = 0; i < hexlen; i += 2) {
		int hi = qvmi__hexval((unsigned char)hex[i]);
		int lo = qvmi__hexval((unsigned char)hex[i + 1]);

		if (hi < 0 || lo < 0)
			return -EBADMSG;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*ret_len = hexlen / 2;
	return 0;
}

void qvmi__rsp_bin2hex(const uint8_t *in, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

int qvmi__rsp_parse_hex(const char *s, size_t len, uint64_t *ret)
{
	uint64_t v = 0;

	if (!len || len > 16)
		return -EBADMSG;
	for (size_t i = 0; i < len; i++) {
		int d = qvmi__hexval((unsigned char)s[i]);

		if (d < 0)
			return -EBADMSG;
		v = v << 4 | (uint64_t)d;
	}
	*ret = v;
	return 0;
}

/* One id component: "-1", or 1..16 hex digits (0 means "any"). */
static int parse_id(const char *s, size_t len, int64_t *ret)
{
	uint64_t v;

	if (len == 2 && s[0] == '-' && s[1] == '1') {
		*ret = -1;
		return 0;
	}
	if (qvmi__rsp_parse_hex(s, len, &v) || v > INT64_MAX)
		return -EBADMSG;
	*ret = (int64_t)v;
	return 0;
}

int qvmi__rsp_parse_tid(const char *s, size_t len, struct qvmi_rsp_tid *ret)
{
	const char *dot;

	ret->pid = -2;
	if (len && s[0] == 'p') {
		s++;
		len--;
		dot = memchr(s, '.', len);
		if (!dot) {
			/* "pPID" alone means all threads of that process */
			ret->tid = -1;
			return parse_id(s, len, &ret->pid);
		}
		if (parse_id(s, (size_t)(dot - s), &ret->pid))
			return -EBADMSG;
		len -= (size_t)(dot - s) + 1;
		s = dot + 1;
	}
	return parse_id(s, len, &ret->tid);
}

int qvmi__rsp_error_code(const char *p, size_t len)
{
	uint64_t v;

	if (len != 3 || p[0] != 'E' || qvmi__rsp_parse_hex(p + 1, 2, &v))
		return -1;
	return (int)v;
}

static int parse_sig(const char *p, size_t len, int *ret)
{
	uint64_t v;

	if (len < 2 || qvmi__rsp_parse_hex(p, 2, &v))
		return -EBADMSG;
	*ret = (int)v;
	return 0;
}

/* One "name:value" pair of a T reply. */
static int stop_pair(const char *n, size_t nlen, const char *v, size_t vlen,
		     struct qvmi_rsp_stop *ret)
{
	static const struct {
		const char *name;
		enum qvmi_rsp_watch kind;
	} watches[] = { { "watch", QVMI_RSP_WATCH_WRITE },
			{ "rwatch", QVMI_RSP_WATCH_READ },
			{ "awatch", QVMI_RSP_WATCH_ACCESS } };

#define IS(s) (nlen == strlen(s) && !memcmp(n, s, nlen))
	if (IS("thread")) {
		ret->has_thread = true;
		return qvmi__rsp_parse_tid(v, vlen, &ret->thread);
	}
	if (IS("core")) {
		ret->has_core = true;
		return qvmi__rsp_parse_hex(v, vlen, &ret->core);
	}
	if (IS("swbreak")) {
		ret->swbreak = true;
		return 0;
	}
	if (IS("hwbreak")) {
		ret->hwbreak = true;
		return 0;
	}
	for (size_t i = 0; i < QVMI_ARRAY_SIZE(watches); i++) {
		if (IS(watches[i].name)) {
			ret->watch = watches[i].kind;
			return qvmi__rsp_parse_hex(v, vlen, &ret->watch_addr);
		}
	}
#undef IS
	return 0; /* a register value or a reason we do not use */
}

static int parse_t_pairs(const char *p, size_t len, struct qvmi_rsp_stop *ret)
{
	size_t i = 0;

	while (i < len) {
		const char *semi = memchr(p + i, ';', len - i);
		const char *colon;
		size_t end = semi ? (size_t)(semi - p) : len;
		int err;

		/* every pair ends with ';' (gdb docs); tolerate a last one
		 * without */
		colon = memchr(p + i, ':', end - i);
		if (!colon || colon == p + i)
			return -EBADMSG;
		err = stop_pair(p + i, (size_t)(colon - (p + i)), colon + 1,
				end - (size_t)(colon + 1 - p), ret);
		if (err)
			return err;
		i = end + 1;
	}
	return 0;
}

int qvmi__rsp_parse_stop(const char *p, size_t len, struct qvmi_rsp_stop *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (!len)
		return -EBADMSG;
	switch (p[0]) {
	case 'S':
		ret->kind = QVMI_RSP_STOP_SIGNAL;
		if (len != 3)
			return -EBADMSG;
		return parse_sig(p + 1, 2, &ret->signal);
	case 'T':
		ret->kind = QVMI_RSP_STOP_SIGNAL;
		if (parse_sig(p + 1, len - 1, &ret->signal))
			return -EBADMSG;
		return parse_t_pairs(p + 3, len - 3, ret);
	case 'W':
	case 'X':
		ret->kind = p[0] == 'W' ? QVMI_RSP_STOP_EXITED :
					  QVMI_RSP_STOP_KILLED;
		if (parse_sig(p + 1, len - 1, &ret->signal))
			return -EBADMSG;
		/* ";process:PID" may follow; nothing here needs it */
		if (len > 3 && p[3] != ';')
			return -EBADMSG;
		return 0;
	default:
		return -EBADMSG;
	}
}
