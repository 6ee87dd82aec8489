// SPDX-License-Identifier: LGPL-2.1-or-later
/* qvmid's --kvmi-* options (kvmi-server.h, docs/KVMI.md). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvmi-server.h"

const char qvmid_kvmi_usage[] =
	"  --kvmi-connect ADDR  speak KVMi (libkvmi, LibVMI's KVM driver) to "
	"the tool\n"
	"                       listening at PATH or vsock:CID:PORT "
	"(docs/KVMI.md)\n"
	"  --kvmi-reconnect MS  dial again this long after a failure or close "
	"(1000)\n"
	"  --kvmi-handshake v7|v12  96-byte handshake, or 104 with max_gpa\n"
	"  --kvmi-key FILE      the tool's cookie must be SHA-1 of FILE's bytes"
	" (0600)\n"
	"  --kvmi-handshake-timeout MS  (default 10000)\n"
	"  --kvmi-unsupported refuse|accept  controls of events stock QEMU "
	"cannot\n"
	"                       produce: -EOPNOTSUPP, or accepted and never "
	"fired\n"
	"  --kvmi-unknown-msr einval|zero  MSRs stock QEMU does not show\n"
	"  --kvmi-unhook-timeout MS  after the UNHOOK event (default 60000)\n"
	"  --kvmi-commands IDS, --kvmi-events IDS  allow-lists (comma-separated"
	" ids)\n";

/* "/abs" for a unix path, as given for vsock: */
static char *addr_dup(const char *s)
{
	char cwd[PATH_MAX], *r;

	if (!strncmp(s, "unix:", 5))
		s += 5;
	/* tcp: kept as written, for qvmid_kvmi_create to refuse */
	if (!strncmp(s, "vsock:", 6) || !strncmp(s, "tcp:", 4) || s[0] == '/' ||
	    !getcwd(cwd, sizeof(cwd)))
		return strdup(s);
	return asprintf(&r, "%s/%s", cwd, s) < 0 ? NULL : r;
}

static int parse_ms(const char *s, int *ret)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end || v <= 0 || v > INT_MAX)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

int qvmid_kvmi_parse_ids(const char *list, bool *allowed, unsigned int max)
{
	const char *s = list;

	memset(allowed, 0, max * sizeof(*allowed));
	for (unsigned int n = 0; n < 256; n++) {
		char *end;
		long v = strtol(s, &end, 10);

		if (end == s || v < 0 || v >= (long)max ||
		    (*end && *end != ','))
			return -EINVAL;
		allowed[v] = true;
		if (!*end)
			return 0;
		s = end + 1;
	}
	return -EINVAL;
}

static int choice(const char *arg, const char *no, const char *yes, bool *ret)
{
	if (!strcmp(arg, no))
		*ret = false;
	else if (!strcmp(arg, yes))
		*ret = true;
	else
		return -EINVAL;
	return 0;
}

int qvmid_kvmi_option(struct qvmid_kvmi_args *a, int code, const char *arg)
{
	struct qvmid_kvmi_opts *o = &a->o;
	int err = 0;

	switch (code - QVMID_KVMI_OPT_BASE) {
	case 0:
		/* KVMi has no authentication: never across a network */
		if (!strncmp(arg, "tcp:", 4)) {
			err = -EINVAL;
			break;
		}
		free(a->connect);
		a->connect = addr_dup(arg);
		o->connect_addr = a->connect;
		err = a->connect ? 0 : -ENOMEM;
		break;
	case 1:
		err = parse_ms(arg, &o->reconnect_ms);
		break;
	case 2:
		err = choice(arg, "v7", "v12", &o->v12);
		break;
	case 3:
		free(a->key);
		a->key = addr_dup(arg);
		o->key_path = a->key;
		err = a->key ? 0 : -ENOMEM;
		break;
	case 4:
		err = parse_ms(arg, &o->handshake_timeout_ms);
		break;
	case 5:
		err = choice(arg, "refuse", "accept", &o->accept_unsupported);
		break;
	case 6:
		err = choice(arg, "einval", "zero", &o->unknown_msr_zero);
		break;
	case 7:
		o->cmd_list_set = true;
		err = qvmid_kvmi_parse_ids(arg, o->cmd_allowed, QVMID_KVMI_IDS);
		break;
	case 9:
		err = parse_ms(arg, &o->unhook_timeout_ms);
		break;
	case 8:
		o->ev_list_set = true;
		err = qvmid_kvmi_parse_ids(arg, o->ev_allowed,
					   QVMID_KVMI_EVENTS);
		break;
	default:
		err = -EINVAL;
	}
	if (err)
		fprintf(stderr, "qvmid: bad value for a --kvmi option: %s\n",
			arg);
	return err;
}

void qvmid_kvmi_args_free(struct qvmid_kvmi_args *a)
{
	free(a->connect);
	free(a->key);
	a->connect = a->key = NULL;
}
