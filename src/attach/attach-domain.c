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

/* QMP through libvirt, to the QEMU of the domain (its pid in *ret_pid). */
static int domain_qmp(struct qvmi_ctx *ctx, const char *name, const char *uri,
		      int timeout_ms, struct qvmi_qmp **ret, pid_t *ret_pid)
{
	struct qvmi_virt *v = NULL;
	char uuid[40];
	int err;

	*ret = NULL;
	err = qvmi__virt_open(ctx, uri, name, &v);
	if (err)
		return err;
	snprintf(uuid, sizeof(uuid), "%s", qvmi__virt_uuid(v));
	err = qvmi__virt_qmp(ctx, v, timeout_ms, ret);
	if (!err)
		*ret_pid = domain_pid(ctx, *ret, name, uuid);
	return err;
}

/* The QMP connection an attach from the layout cache deferred: the
 * domain must still run the QEMU attached to. */
static int domain_reopen(struct qvmi_ctx *ctx, const struct qvmi_qmp_opener *o,
			 int timeout_ms, struct qvmi_qmp **ret)
{
	pid_t pid = 0;
	int err = domain_qmp(ctx, o->name, o->has_uri ? o->uri : NULL,
			     timeout_ms, ret, &pid);

	if (!err && pid != ctx->qemu_pid) {
		qvmi__qmp_close(*ret);
		*ret = NULL;
		err = qvmi__err(ctx, -ESTALE,
				"libvirt: domain '%s' runs another QEMU (pid "
				"%d, attached to %d): restarted?",
				o->name, (int)pid, ctx->qemu_pid);
	}
	return err;
}

/* The layout cache's key: which libvirt, which domain.  NULL (no cache)
 * where it cannot be written as one line. */
static struct qvmi_qmp_opener *domain_opener(const char *name, const char *uri)
{
	const char *u = uri ? uri : getenv("LIBVIRT_DEFAULT_URI");
	struct qvmi_qmp_opener *o = calloc(1, sizeof(*o));
	int n;

	if (!o || strlen(name) >= sizeof(o->name) ||
	    (uri && strlen(uri) >= sizeof(o->uri))) {
		free(o);
		return NULL;
	}
	n = snprintf(o->key, sizeof(o->key), "libvirt:%s#%s", u ? u : "", name);
	if (n < 0 || (size_t)n >= sizeof(o->key) || strchr(o->key, '\n')) {
		free(o);
		return NULL;
	}
	strcpy(o->name, name);
	if (uri)
		strcpy(o->uri, uri);
	o->has_uri = uri != NULL;
	o->open = domain_reopen;
	return o;
}

QVMI_API int qvmi_attach_domain(struct qvmi_ctx *ctx, const char *name,
				const char *connect_uri,
				const struct qvmi_attach_opts *opts)
{
	struct qvmi_qmp_opener *o;
	struct qvmi_qmp *q = NULL;
	pid_t pid = 0;
	int err;

	if (!ctx)
		return -EINVAL;
	qvmi__clear_err(ctx);
	if (!name || !*name)
		return qvmi__err(ctx, -EINVAL, "libvirt: bad domain name");
	if (!QVMI_OPTS_VALID(opts, struct qvmi_attach_opts))
		return qvmi__err(ctx, -EINVAL,
				 "attach: unknown non-zero option fields");
	if (ctx->qmp || ctx->ctl || ctx->sources)
		return qvmi__err(ctx, -EBUSY, "attach: context already in use");
	/* The same QEMU as last time (its pid and start time, from the
	 * layout cache): no libvirt at all until a QMP command is needed. */
	o = domain_opener(name, connect_uri);
	if (o && !qvmi__attach_cached_opener(ctx, o, opts)) {
		ctx->backend = "libvirt";
		free(o);
		return 0;
	}
	err = domain_qmp(ctx, name, connect_uri,
			 QVMI_OPTS_GET(opts, timeout_ms, 0), &q, &pid);
	if (!err)
		err = qvmi__attach_qmp_conn(ctx, q, pid, opts,
					    pid > 0 ? o : NULL);
	if (!err)
		ctx->backend = "libvirt";
	free(o);
	return err;
}
