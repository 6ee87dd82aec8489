// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The session frame parser over arbitrary client bytes, as qvmid's server
 * sees them before and after authentication (the first input byte picks
 * the starting stage).  Oracles: a header that decodes re-encodes to the
 * same bytes; an accepted READ_PA/WRITE_PA has a length within the limit
 * and a WRITE_PA's data fits its frame; a VM info block or error text that
 * decodes re-encodes to the same bytes; a frame taken as an event (as
 * libqvmi checks qvmid's) is an event frame with a valid payload.
 */
#include <stdint.h>
#include <stdlib.h>

#include "proto/session-wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond)
{
	if (!cond)
		abort();
}

static void check_payload_decoders(const uint8_t *p, size_t n)
{
	static struct qvmi_ses_info info;
	static uint8_t again[QVMI_SES_INFO_FIXED + 256 + 16 * 1024];
	char text[QVMI_SES_ERRTEXT_MAX + 1];

	if (!qvmi__ses_info_decode(p, n, &info, NULL)) {
		must(qvmi__ses_info_size(&info) == n);
		must(qvmi__ses_info_encode(&info, again) == n);
		must(!memcmp(again, p, n));
	}
	if (!qvmi__ses_errtext_decode(p, n, text, sizeof(text)))
		must(strlen(text) <= QVMI_SES_ERRTEXT_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int stage;
	uint32_t seq = 1;
	size_t off = 1;

	if (!size)
		return 0;
	stage = data[0] % 3;
	/* a stream of frames, as the server reads them */
	for (int frames = 0; frames < 64 && size - off >= QVMI_SES_HDR;
	     frames++) {
		const uint8_t *f = data + off, *p = f + QVMI_SES_HDR;
		uint8_t re[QVMI_SES_HDR];
		struct qvmi_ses_hdr h;
		const char *why = NULL;

		if (qvmi__ses_hdr_decode(f, &h, &why)) {
			must(why != NULL);
			break;
		}
		qvmi__ses_hdr_encode(&h, re);
		must(!memcmp(re, f, QVMI_SES_HDR));
		if (h.size > size - off - QVMI_SES_HDR)
			break;
		check_payload_decoders(p, h.size);
		/* the same bytes as an event, as libqvmi checks them */
		if (!qvmi__ses_check_event(&h, p, h.seq, &why)) {
			must(h.flags == QVMI_SES_F_EVENT);
			must(h.msg != QVMI_SES_EV_BP_REMOVED ||
			     (h.size == QVMI_SES_EV_BP_REMOVED_SIZE &&
			      qvmi__ses_get32(p + 8) <= QVMI_WP_ACCESS));
		}
		if (qvmi__ses_check_request(&h, p, stage, seq, &why)) {
			must(why != NULL);
			break; /* a bad frame closes the session */
		}
		must(h.seq == seq && !h.flags);
		if (h.msg == QVMI_SES_READ_PA || h.msg == QVMI_SES_WRITE_PA) {
			uint32_t len = qvmi__ses_get32(p + 8);

			must(len && len <= QVMI_SES_MAX_DATA);
			must(h.msg == QVMI_SES_READ_PA ||
			     16 + (size_t)len <= h.size);
		}
		must(stage < 2 ||
		     (h.msg != QVMI_SES_HELLO && h.msg != QVMI_SES_AUTH));
		if (stage < 2)
			stage++; /* HELLO, then AUTH (taken as proven) */
		seq++;
		off += QVMI_SES_HDR + h.size;
	}
	return 0;
}
