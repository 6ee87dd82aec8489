// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The PSK identity a TLS client sends (src/proto/session-tls.c): bytes
 * from the network, parsed by a tool's listener before any key is used.
 * Oracles: an accepted identity is the tool's exact text, or a VM's that
 * renders back (qvmi__ses_tls_id_vm) to exactly the input; a refused one
 * leaves the result zeroed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/session-tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct qvmi_ses_tls_id zero;
	struct qvmi_ses_tls_id id;
	char back[QVMI_SES_TLS_ID_MAX + 1];
	const char *why = NULL;

	if (qvmi__ses_tls_id_parse(data, size, &id, &why)) {
		must(why != NULL);
		must(!memcmp(&id, &zero, sizeof(id)));
		return 0;
	}
	if (!id.vm) {
		must(size == strlen(QVMI_SES_TLS_ID_TOOL) &&
		     !memcmp(data, QVMI_SES_TLS_ID_TOOL, size));
		return 0;
	}
	must(size <= QVMI_SES_TLS_ID_MAX);
	must(!qvmi__ses_tls_id_vm(back, id.uuid, id.name));
	must(strlen(back) == size && !memcmp(back, data, size));
	return 0;
}
