// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A libvirt domain's QMP through libvirt (libvirt.h).  libvirt holds
 * QEMU's monitor, and QEMU 7.2 serves one QMP client at a time, so the
 * commands go through libvirt's virDomainQemuMonitorCommand (libvirt-qemu;
 * it marks the domain "custom-monitor" tainted in its log, as `virsh
 * qemu-monitor-command` does).
 *
 * libvirt.so.0 is dlopen'ed on first use, never closed (libvirt keeps
 * threads and atexit handlers): loading it and its ~55 libraries costs
 * 50-100 ms here, which no program that does not name a domain should
 * pay.  The prototypes are declared here from libvirt's stable ABI
 * (libvirt 1.2.3+ for everything used), so building needs no libvirt-dev.
 * A fully static program cannot load it (two libcs): there this fails
 * with -ELIBACC, and the static qvmi CLI hands --domain to its dynamic
 * twin (tools/cli-domain.c).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt.h"

enum {
	VIRT_UUID_BUFLEN = 37, /* VIR_UUID_STRING_BUFLEN */
	/* virErrorNumber (virterror.h), libvirt 9.0 */
	VIRT_ERR_NO_DOMAIN = 42,
	VIRT_ERR_OPERATION_INVALID = 55,
	/* What one reply may hold, as over a socket. */
	VIRT_MAX_REPLY = QVMI_QMP_MAX_MSG,
};

typedef void (*virt_errfn)(void *arg, void *err);

extern const char _DYNAMIC[] __attribute__((weak));

/* The libvirt functions used, found once. */
static struct {
	void *(*conn_open)(const char *uri);
	int (*conn_close)(void *conn);
	void *(*lookup)(void *conn, const char *name);
	int (*is_active)(void *dom);
	int (*uuid)(void *dom, char *buf);
	int (*dom_free)(void *dom);
	int (*last_code)(void);
	const char *(*last_msg)(void);
	void (*set_errfn)(void *arg, virt_errfn fn);
	int (*monitor)(void *dom, const char *cmd, char **result,
		       unsigned int flags);
	char why[200]; /* why not loaded, or "" */
} virt;

static pthread_once_t virt_once = PTHREAD_ONCE_INIT;

/* libvirt prints every error to stderr unless told otherwise; the
 * library never prints (the message is read with virGetLastError*). */
static void virt_quiet(void *arg, void *err)
{
	(void)arg;
	(void)err;
}

static void *sym(void *h, const char *name)
{
	void *p = h ? dlsym(h, name) : NULL;

	if (!p && !virt.why[0])
		snprintf(virt.why, sizeof(virt.why), "%s: %s",
			 h ? name : "libvirt", dlerror());
	return p;
}

static void virt_load(void)
{
	void *h = dlopen("libvirt.so.0", RTLD_NOW | RTLD_LOCAL);
	void *hq = h ? dlopen("libvirt-qemu.so.0", RTLD_NOW | RTLD_LOCAL) :
		       NULL;

	if (!h || !hq) {
		snprintf(virt.why, sizeof(virt.why), "%s", dlerror());
		return;
	}
	*(void **)&virt.conn_open = sym(h, "virConnectOpen");
	*(void **)&virt.conn_close = sym(h, "virConnectClose");
	*(void **)&virt.lookup = sym(h, "virDomainLookupByName");
	*(void **)&virt.is_active = sym(h, "virDomainIsActive");
	*(void **)&virt.uuid = sym(h, "virDomainGetUUIDString");
	*(void **)&virt.dom_free = sym(h, "virDomainFree");
	*(void **)&virt.last_code = sym(h, "virGetLastErrorCode");
	*(void **)&virt.last_msg = sym(h, "virGetLastErrorMessage");
	*(void **)&virt.set_errfn = sym(h, "virSetErrorFunc");
	*(void **)&virt.monitor = sym(hq, "virDomainQemuMonitorCommand");
	if (!virt.why[0])
		virt.set_errfn(NULL, virt_quiet);
}

struct qvmi_virt {
	void *conn, *dom;
	char name[256];
	char uuid[VIRT_UUID_BUFLEN];
};

static const char *last_msg(void)
{
	const char *m = virt.last_msg();

	return m ? m : "unknown libvirt error";
}

void qvmi__virt_close(struct qvmi_virt *v)
{
	if (!v)
		return;
	if (v->dom)
		virt.dom_free(v->dom);
	if (v->conn)
		virt.conn_close(v->conn);
	free(v);
}

static int find_domain(struct qvmi_ctx *ctx, struct qvmi_virt *v)
{
	int active;

	v->dom = virt.lookup(v->conn, v->name);
	if (!v->dom && virt.last_code() == VIRT_ERR_NO_DOMAIN)
		return qvmi__err(ctx, -ENOENT, "libvirt: no domain '%s'",
				 v->name);
	if (!v->dom)
		return qvmi__err(ctx, -EIO, "libvirt: domain '%s': %s", v->name,
				 last_msg());
	active = virt.is_active(v->dom);
	if (active < 0)
		return qvmi__err(ctx, -EIO, "libvirt: domain '%s': %s", v->name,
				 last_msg());
	if (!active)
		return qvmi__err(ctx, -EHOSTDOWN,
				 "libvirt: domain '%s' is not running",
				 v->name);
	if (virt.uuid(v->dom, v->uuid) < 0)
		return qvmi__err(ctx, -EIO, "libvirt: domain '%s': %s", v->name,
				 last_msg());
	v->uuid[VIRT_UUID_BUFLEN - 1] = '\0';
	return 0;
}

int qvmi__virt_open(struct qvmi_ctx *ctx, const char *uri, const char *name,
		    struct qvmi_virt **ret)
{
	struct qvmi_virt *v;
	int err;

	*ret = NULL;
	if (!name || !*name || strlen(name) >= sizeof(v->name))
		return qvmi__err(ctx, -EINVAL, "libvirt: bad domain name");
	/* _DYNAMIC is a weak undefined symbol (NULL) only in a static
	 * non-PIE program: there dlopen brings a second libc. */
	if (!_DYNAMIC)
		return qvmi__err(ctx, -ELIBACC,
				 "libvirt: a static program cannot load "
				 "libvirt.so.0");
	pthread_once(&virt_once, virt_load);
	if (virt.why[0])
		return qvmi__err(ctx, -ENOPKG,
				 "libvirt is not installed (%s): --domain "
				 "needs libvirt0",
				 virt.why);
	v = calloc(1, sizeof(*v));
	if (!v)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	strcpy(v->name, name);
	v->conn = virt.conn_open(uri);
	if (!v->conn)
		err = qvmi__err(ctx, -ECONNREFUSED, "libvirt: connect %s: %s",
				uri ? uri : "(default URI)", last_msg());
	else
		err = find_domain(ctx, v);
	if (err) {
		qvmi__virt_close(v);
		return err;
	}
	*ret = v;
	return 0;
}

const char *qvmi__virt_uuid(const struct qvmi_virt *v)
{
	return v->uuid;
}

/* One QMP command through libvirt.  A domain that went away, or a lost
 * connection, is a closed socket (-EPIPE): the connection is over. */
static int virt_exec(void *priv, struct qvmi_ctx *ctx, const char *cmd,
		     char **ret)
{
	struct qvmi_virt *v = priv;
	char *out = NULL;
	int code;

	*ret = NULL;
	if (virt.monitor(v->dom, cmd, &out, 0) < 0) {
		code = virt.last_code();
		return qvmi__err(ctx,
				 code == VIRT_ERR_OPERATION_INVALID ||
						 code == VIRT_ERR_NO_DOMAIN ?
					 -EPIPE :
					 -EIO,
				 "libvirt: domain '%s': %s", v->name,
				 last_msg());
	}
	if (!out)
		return qvmi__err(ctx, -EPROTO, "libvirt: domain '%s': no reply",
				 v->name);
	if (strnlen(out, VIRT_MAX_REPLY + 1) > VIRT_MAX_REPLY) {
		free(out);
		return qvmi__err(ctx, -EMSGSIZE,
				 "libvirt: domain '%s': oversized reply",
				 v->name);
	}
	*ret = out; /* libvirt's result is the caller's, free()d */
	return 0;
}

static void virt_destroy(void *priv)
{
	qvmi__virt_close(priv);
}

static const struct qvmi_qmp_xport_ops virt_ops = {
	.name = "libvirt",
	.exec = virt_exec,
	.destroy = virt_destroy,
};

int qvmi__virt_qmp(struct qvmi_ctx *ctx, struct qvmi_virt *v, int timeout_ms,
		   struct qvmi_qmp **ret)
{
	return qvmi__qmp_open_xport(ctx, &virt_ops, v, timeout_ms, ret);
}
