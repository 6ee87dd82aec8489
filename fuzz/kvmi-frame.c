// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The KVMi decoder over arbitrary tool bytes, as qvmid's front-end reads
 * them (daemon/kvmi-conn.c): the handshake answer's size, then a stream
 * of framed requests.  The first input byte picks the mode; mode 3 feeds
 * the rest as "info registers" text to the kvm_sregs parser.  Oracles: a
 * header that decodes re-encodes to the same bytes and is within 8184; an
 * accepted request's payload has the size its own count fields give; an
 * accepted handshake size is within 24..64 KiB; parsed segments are
 * unusable exactly when not present.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/kvmi-sregs.h"
#include "proto/kvmi-wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond)
{
	if (!cond)
		abort();
}

static void check_accepted(const struct qvmi_kvmi_hdr *h, const uint8_t *p)
{
	struct qvmi_kvmi_ev_reply r;

	switch (h->id) {
	case QVMI_KVMI_GET_REGISTERS:
		must(h->size == 16 + 4 * (size_t)qvmi__kvmi_u16(p + 8));
		break;
	case QVMI_KVMI_WRITE_PHYSICAL:
		must(h->size == 16 + qvmi__kvmi_u64(p + 8));
		break;
	case QVMI_KVMI_SET_PAGE_ACCESS:
		must(h->size == 8 + 16 * (size_t)qvmi__kvmi_u16(p + 2));
		break;
	case QVMI_KVMI_EVENT_REPLY:
		must(h->size >= 16 && h->size <= 80);
		qvmi__kvmi_ev_reply_decode(p, h->size, &r);
		must(r.spec_len == h->size - 16u);
		break;
	case QVMI_KVMI_EVENT:
		must(0);
		break;
	}
	if (qvmi__kvmi_is_vcpu_cmd(h->id))
		must(!qvmi__kvmi_u16(p + 2) && !qvmi__kvmi_u32(p + 4));
}

static void frames(const uint8_t *d, size_t n)
{
	size_t off = 0;

	for (int i = 0; i < 256 && n - off >= QVMI_KVMI_HDR; i++) {
		struct qvmi_kvmi_hdr h;
		uint8_t re[QVMI_KVMI_HDR];
		const char *why = NULL;
		int err;

		if (qvmi__kvmi_hdr_decode(d + off, &h, &why)) {
			must(why != NULL);
			return;
		}
		must(h.size <= QVMI_KVMI_MAX_PAYLOAD);
		qvmi__kvmi_hdr_encode(&h, re);
		must(!memcmp(re, d + off, QVMI_KVMI_HDR));
		if (n - off - QVMI_KVMI_HDR < h.size)
			return;
		/* the daemon hands the payload in a buffer of its own */
		{
			uint8_t *p = malloc(h.size ? h.size : 1);

			must(p != NULL);
			memcpy(p, d + off + QVMI_KVMI_HDR, h.size);
			err = qvmi__kvmi_req_check(&h, p, &why);
			must(err == 0 || err == -EBADMSG || err == -EINVAL);
			if (!err)
				check_accepted(&h, p);
			else
				must(why != NULL);
			free(p);
		}
		off += QVMI_KVMI_HDR + h.size;
	}
}

static void sregs_text(const uint8_t *d, size_t n)
{
	char *t = malloc(n + 1);
	struct kvm_sregs s;

	must(t != NULL);
	memcpy(t, d, n);
	t[n] = 0;
	for (unsigned int cpu = 0; cpu < 3; cpu++) {
		if (qvmi__kvmi_parse_sregs(t, cpu, &s))
			continue;
		must(s.cs.unusable == !s.cs.present);
		must(s.tr.unusable == !s.tr.present);
		must(s.ds.unusable == !s.ds.present);
	}
	free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t n = 0;
	const char *why = NULL;

	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		frames(data + 1, size - 1);
		break;
	case 1: /* handshake answer, then frames */
		if (size < 5)
			return 0;
		if (!qvmi__kvmi_hs_reply_size(data + 1, &n, &why))
			must(n >= 24 && n <= 64 * 1024);
		else
			must(why != NULL);
		frames(data + 5, size - 5);
		break;
	default:
		sregs_text(data + 1, size - 1);
	}
	return 0;
}
