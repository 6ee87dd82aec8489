// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Attaching to a libvirt domain by name (qvmi_attach_domain).  libvirt
 * holds QEMU's QMP monitor and QEMU 7.2 serves one QMP client at a time,
 * so QMP goes through libvirt's own connection (proto/libvirt.c); the
 * rest is the QMP attach (attach.c), given QEMU's pid:
 *   - under the qvmi-qemu shim, libvirt's monitor is qvmid, which names
 *     QEMU's pid in query-qvmi;
 *   - else a vCPU thread's thread group (query-cpus-fast "thread-id").
 * Either pid must be a process whose command line carries the domain's
 * -uuid (libvirt always passes it): a domain on another host, or in
 * another pid namespace, names a thread we must not read.  Then memory
 * comes through QMP (xp) only.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "attach-qmp.h"
#include "core/internal.h"
#include "proto/libvirt.h"
#include "proto/qmp.h"

enum {
	/* QEMU's command line under libvirt is a few KiB; -uuid comes early
	 * (libvirt 9.0 puts it after -smp/-numa).  Bounded read. */
	CMDLINE_MAX = 256 * 1024,
	STATUS_MAX = 4096,
};

/* Up to size - 1 bytes of a /proc file, NUL-terminated: length or -errno. */
static ssize_t read_proc(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	ssize_t n = 0;

	if (fd < 0)
		return -errno;
	while (got < size - 1 &&
	       (n = read(fd, buf + got, size - 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return n < 0 ? -errno : (ssize_t)got;
}

/* Does /proc/pid/cmdline hold "-uuid" followed by uuid? */
static bool pid_has_uuid(pid_t pid, const char *uuid)
{
	char path[64], *buf = malloc(CMDLINE_MAX);
	ssize_t len;
	bool ok = false;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	len = buf ? read_proc(path, buf, CMDLINE_MAX) : -ENOMEM;
	for (ssize_t i = 0; len > 0 && i < len && !ok;) {
		size_t alen = strnlen(buf + i, (size_t)(len - i));

		if (!strcmp(buf + i, "-uuid") && i + (ssize_t)alen + 1 < len)
			ok = !strcasecmp(buf + i + alen + 1, uuid);
		i += (ssize_t)alen + 1;
	}
	free(buf);
	return ok;
}

/* QEMU's pid from qvmid's query-qvmi (the shim), or 0. */
static pid_t pid_from_qvmid(struct qvmi_qmp *q, bool *shim)
{
	struct json_object *r = NULL, *v;
	int64_t pid = 0;

	*shim = false;
	if (qvmi__qmp_execute(q, "query-qvmi", NULL, &r))
		return 0; /* CommandNotFound: QEMU itself answers */
	*shim = true;
	if (json_object_object_get_ex(r, "qemu-pid", &v) &&
	    json_object_is_type(v, json_type_int))
		pid = json_object_get_int64(v);
	json_object_put(r);
	return pid > 0 && pid <= INT_MAX ? (pid_t)pid : 0;
}

/* The thread group of a vCPU thread (query-cpus-fast), or 0. */
static pid_t pid_from_vcpu(struct qvmi_qmp *q)
{
	struct json_object *r = NULL, *cpu, *v;
	char path[64], buf[STATUS_MAX], *tg;
	int64_t tid = 0;
	long pid = 0;

	if (qvmi__qmp_execute(q, "query-cpus-fast", NULL, &r))
		return 0;
	cpu = json_object_is_type(r, json_type_array) ?
		      json_object_array_get_idx(r, 0) :
		      NULL;
	if (cpu && json_object_object_get_ex(cpu, "thread-id", &v) &&
	    json_object_is_type(v, json_type_int))
		tid = json_object_get_int64(v);
	json_object_put(r);
	if (tid <= 0 || tid > INT_MAX)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	if (read_proc(path, buf, sizeof(buf)) <= 0 ||
	    !(tg = strstr(buf, "\nTgid:")))
		return 0;
	pid = strtol(tg + 6, NULL, 10);
	return pid > 0 && pid <= INT_MAX ? (pid_t)pid : 0;
}

static pid_t domain_pid(struct qvmi_ctx *ctx, struct qvmi_qmp *q,
			const char *name, const char *uuid)
{
	bool shim;
	pid_t pid = pid_from_qvmid(q, &shim);

	qvmi__clear_err(ctx); /* query-qvmi's CommandNotFound */
	if (!pid)
		pid = pid_from_vcpu(q);
	if (pid > 0 && pid_has_uuid(pid, uuid)) {
		qvmi__log(ctx, QVMI_LOG_INFO,
			  "attach: domain %s: QEMU pid %d%s", name, (int)pid,
			  shim ? " (named by qvmid, the qvmi-qemu shim)" : "");
		return pid;
	}
	qvmi__log(ctx, QVMI_LOG_WARN,
		  "attach: domain %s: its QEMU is not a process here (pid "
		  "%d has not its -uuid %s): guest memory through QMP only",
		  name, (int)pid, uuid);
	return 0;
}

QVMI_API int qvmi_attach_domain(struct qvmi_ctx *ctx, const char *name,
				const char *connect_uri,
				const struct qvmi_attach_opts *opts)
{
	struct qvmi_virt *v = NULL;
	struct qvmi_qmp *q = NULL;
	char uuid[40];
	pid_t pid;
	int err;

	if (!ctx)
		return -EINVAL;
	qvmi__clear_err(ctx);
	if (!QVMI_OPTS_VALID(opts, struct qvmi_attach_opts))
		return qvmi__err(ctx, -EINVAL,
				 "attach: unknown non-zero option fields");
	if (ctx->qmp || ctx->ctl || ctx->sources)
		return qvmi__err(ctx, -EBUSY, "attach: context already in use");
	err = qvmi__virt_open(ctx, connect_uri, name, &v);
	if (err)
		return err;
	snprintf(uuid, sizeof(uuid), "%s", qvmi__virt_uuid(v));
	err = qvmi__virt_qmp(ctx, v, QVMI_OPTS_GET(opts, timeout_ms, 0), &q);
	if (err)
		return err;
	pid = domain_pid(ctx, q, name, uuid);
	err = qvmi__attach_qmp_conn(ctx, q, pid, opts);
	if (!err)
		ctx->backend = "libvirt";
	return err;
}
