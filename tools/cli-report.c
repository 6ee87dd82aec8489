// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * How every qvmi command reports its outcome.  A command that fails prints
 * no result: the error goes to stderr as one line, or with --json as one
 * {"error": {...}} object on stdout (then stdout holds nothing else).  A
 * partial result (a walk that stopped early) is printed, and says so: on
 * stderr in text mode, as {"error": {..., "partial": true}, "result": ...}
 * with --json.  Either way the exit status is 1.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"

void cli_json_print(struct json_object *obj)
{
	puts(json_object_to_json_string_ext(
		obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
}

/* The library's message names its own subsystem ("dmesg: ...", "linux:
 * ..."): don't say the command's name twice. */
static const char *unprefixed(const char *what, const char *msg)
{
	size_t n = what ? strlen(what) : 0;

	if (n && !strncmp(msg, what, n) && msg[n] == ':' && msg[n + 1] == ' ')
		return msg + n + 2;
	return msg;
}

static struct json_object *error_object(const char *what, const char *msg,
					int err, uint64_t fault)
{
	struct json_object *e = json_object_new_object();
	const char *code = err < 0 ? strerrorname_np(-err) : NULL;

	if (what)
		json_object_object_add(e, "context",
				       json_object_new_string(what));
	json_object_object_add(e, "message", json_object_new_string(msg));
	json_object_object_add(e, "errno",
			       json_object_new_int(err < 0 ? -err : 0));
	if (code)
		json_object_object_add(e, "code", json_object_new_string(code));
	if (err == -EFAULT)
		json_object_object_add(e, "fault_address",
				       json_object_new_uint64(fault));
	return e;
}

static void report(struct cli *cli, const char *what, const char *msg, int err,
		   bool partial, struct json_object *result)
{
	const char *m = unprefixed(what, msg);

	if (cli->json) {
		struct json_object *o = json_object_new_object();
		struct json_object *e = error_object(
			what, m, err, cli->ctx ? qvmi_fault_addr(cli->ctx) : 0);

		if (partial)
			json_object_object_add(e, "partial",
					       json_object_new_boolean(1));
		json_object_object_add(o, "error", e);
		if (partial)
			json_object_object_add(o, "result", result);
		cli_json_print(o);
		fflush(stdout);
		return;
	}
	fprintf(stderr, "qvmi: %s%s%s%s%s%s\n", what ? what : "",
		what ? ": " : "", partial ? "partial result: " : "", m,
		err < 0 ? ": " : "", err < 0 ? strerror(-err) : "");
}

static const char *lib_msg(struct cli *cli)
{
	const char *m = cli->ctx ? qvmi_errmsg(cli->ctx) : "";

	return m && m[0] ? m : "failed";
}

int cli_fail(struct cli *cli, const char *what, int err)
{
	report(cli, what, lib_msg(cli), err, false, NULL);
	return 1;
}

int cli_error(struct cli *cli, const char *what, int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	report(cli, what, msg, err, false, NULL);
	return 1;
}

int cli_result(struct cli *cli, const char *what, struct json_object *result,
	       int err)
{
	if (!err) {
		if (result)
			cli_json_print(result);
		return 0;
	}
	/* Text mode printed its rows already; the reason follows them. */
	report(cli, what, lib_msg(cli), err, true, result);
	return 1;
}
