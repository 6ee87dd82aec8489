// SPDX-License-Identifier: LGPL-2.1-or-later
/* GDB remote protocol client for QEMU's gdbstub; see gdb.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/internal.h"
#include "proto/gdb-priv.h"

static int gdb_err(struct qvmi_gdb *g, int err, const char *what)
{
	return qvmi__err(g->ctx, err, "gdb: %s", what);
}

/* Exchange a command; the reply is in g->buf. */
int qvmi__gdb_cmd(struct qvmi_gdb *g, const char *c, size_t *ret_len)
{
	return qvmi__rsp_command(&g->conn, c, false, g->buf,
				 QVMI_RSP_MAX_DECODED + 1, ret_len);
}

/* An error reply as an errno.  QEMU writes errno values in decimal digits
 * ("E14" = EFAULT, "E22" = EINVAL) although the protocol says hex. */
int qvmi__gdb_reply_err(struct qvmi_gdb *g, const char *what, uint64_t addr)
{
	const char *r = g->buf;
	int code = qvmi__rsp_error_code(r, strlen(r));

	if (code == 0x14)
		return qvmi__fault(g->ctx, addr, what);
	if (code == 0x22)
		return qvmi__err(g->ctx, -EINVAL, "gdb: %s: stub says E22",
				 what);
	if (code >= 0)
		return qvmi__err(g->ctx, -EIO, "gdb: %s: stub says %s", what,
				 r);
	if (!*r)
		return qvmi__err(g->ctx, -EOPNOTSUPP,
				 "gdb: %s: not supported by the stub", what);
	return qvmi__err(g->ctx, -EPROTO, "gdb: %s: unexpected reply", what);
}

int qvmi__gdb_expect_ok(struct qvmi_gdb *g, const char *c, const char *what)
{
	int err = qvmi__gdb_cmd(g, c, NULL);

	if (err)
		return err;
	return strcmp(g->buf, "OK") ? qvmi__gdb_reply_err(g, what, 0) : 0;
}

/* ---- setup ------------------------------------------------------------- */

static void parse_features(struct qvmi_gdb *g, const char *r)
{
	const char *p = r;

	for (unsigned int i = 0; *p && i < 256; i++) {
		const char *e = strchr(p, ';');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		uint64_t v;

		if (n > 11 && !strncmp(p, "PacketSize=", 11) &&
		    !qvmi__rsp_parse_hex(p + 11, n - 11, &v) && v >= 64)
			g->pktsize = v > QVMI_RSP_MAX_PACKET ?
					     QVMI_RSP_MAX_PACKET :
					     (size_t)v;
		else if (n == 20 && !strncmp(p, "qXfer:features:read+", 20))
			g->xfer = true;
		else if (n == 13 && !strncmp(p, "multiprocess+", 13))
			g->multiprocess = true;
		else if (n == 16 && !strncmp(p, "QStartNoAckMode+", 16))
			g->conn.noack = true; /* set after the OK below */
		p += n;
		if (*p == ';')
			p++;
	}
}

static int handshake(struct qvmi_gdb *g)
{
	size_t n;
	bool noack;
	int err;

	err = qvmi__rsp_send(
		&g->conn,
		"qSupported:multiprocess+;swbreak+;hwbreak+;"
		"vContSupported+;xmlRegisters=i386",
		strlen("qSupported:multiprocess+;swbreak+;hwbreak+;"
		       "vContSupported+;xmlRegisters=i386"));
	for (unsigned int i = 0; !err; i++) {
		struct qvmi_rsp_stop s;

		err = qvmi__rsp_recv(&g->conn, false, -1, g->buf,
				     QVMI_RSP_MAX_DECODED + 1, &n);
		/* QEMU 7.2 sends "T02thread:01;" when a connection stops a
		 * running VM, before it reads our first packet. */
		if (err || qvmi__rsp_parse_stop(g->buf, n, &s))
			break;
		if (i == MAX_EARLY_STOPS)
			return gdb_err(g, -EPROTO,
				       "stop replies, no qSupported");
		g->was_running = true;
	}
	if (err)
		return err;
	parse_features(g, g->buf);
	noack = g->conn.noack;
	g->conn.noack = false;
	/* QEMU 7.2 answers QStartNoAckMode with "" and does not announce
	 * it: only ask a stub that does. */
	if (noack) {
		err = qvmi__gdb_cmd(g, "QStartNoAckMode", NULL);
		if (err)
			return err;
		g->conn.noack = !strcmp(g->buf, "OK");
	}
	err = qvmi__gdb_cmd(g, "vCont?", NULL);
	if (err)
		return err;
	if (!strncmp(g->buf, "vCont", 5)) {
		g->vcont = strstr(g->buf, ";c") != NULL;
		g->vcont_s = strstr(g->buf, ";s") != NULL;
	}
	return 0;
}

struct xfer_arg {
	struct qvmi_gdb *g;
};

/* qXfer:features:read:ANNEX, in chunks, into a malloc'd string. */
static int xfer_read(const char *annex, char **ret, size_t *ret_len, void *arg)
{
	struct qvmi_gdb *g = ((struct xfer_arg *)arg)->g;
	size_t len = 0, cap = 0, chunk = g->pktsize - 8;
	char *out = NULL, c[320];
	int err = 0;

	if (strlen(annex) > 200 || strpbrk(annex, ":#$}*"))
		return gdb_err(g, -EBADMSG, "bad feature file name");
	for (unsigned int i = 0;; i++) {
		size_t n;

		snprintf(c, sizeof(c), "qXfer:features:read:%s:%zx,%zx", annex,
			 len, chunk);
		err = qvmi__rsp_command(&g->conn, c, true, g->buf,
					QVMI_RSP_MAX_DECODED + 1, &n);
		if (err)
			break;
		if (n < 1 || (g->buf[0] != 'm' && g->buf[0] != 'l')) {
			err = qvmi__gdb_reply_err(g, "target description", 0);
			break;
		}
		if (len + n > QVMI_GDB_MAX_XML || i > 4096) {
			err = gdb_err(g, -EBADMSG,
				      "target description too big");
			break;
		}
		if (len + n > cap) {
			char *p = realloc(out, (cap = 2 * (len + n)));

			if (!p) {
				err = -ENOMEM;
				break;
			}
			out = p;
		}
		memcpy(out + len, g->buf + 1, n - 1);
		len += n - 1;
		out[len] = '\0';
		if (g->buf[0] == 'l')
			break;
		if (n == 1) { /* 'm' with no data would loop forever */
			err = gdb_err(g, -EPROTO, "empty qXfer chunk");
			break;
		}
	}
	if (err || !out) {
		free(out);
		return err ? err : gdb_err(g, -EPROTO, "empty description");
	}
	*ret = out;
	*ret_len = len;
	return 0;
}

static int load_layout(struct qvmi_gdb *g)
{
	struct xfer_arg a = { g };
	const struct qvmi_gdb_reg *rip;
	char *xml;
	size_t len;
	int err;

	/* QEMU 7.2 answers 'p' and 'P' with "" until target.xml has been
	 * read (gdb_has_xml), so this also unlocks single registers. */
	if (!g->xfer)
		return gdb_err(g, -EOPNOTSUPP,
			       "stub has no target description");
	err = xfer_read("target.xml", &xml, &len, &a);
	if (err)
		return err;
	err = qvmi__gdb_parse_layout(xml, len, xfer_read, &a, &g->layout);
	free(xml);
	if (err)
		return qvmi__err(g->ctx, err == -ENOMEM ? err : -EBADMSG,
				 "gdb: cannot parse target description (%d)",
				 err);
	rip = qvmi__gdb_layout_pc(&g->layout);
	g->rip_regnum = rip ? (int)rip->regnum : -1;
	/* The stub's description is QEMU's target's (a QMP attach, if
	 * any, asks query-target first and keeps its answer). */
	if (rip && !g->ctx->vm_arch[0])
		snprintf(g->ctx->vm_arch, sizeof(g->ctx->vm_arch), "%s",
			 strcmp(rip->name, "eip") ? "x86_64" : "i386");
	return 0;
}

static int add_threads(struct qvmi_gdb *g, const char *list)
{
	const char *p = list;

	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		struct vcpu *v;

		if (g->nvcpus == MAX_VCPUS || !n || n >= TID_MAX)
			return gdb_err(g, -EPROTO, "bad thread list");
		v = &g->vcpus[g->nvcpus];
		memcpy(v->id, p, n);
		v->id[n] = '\0';
		if (qvmi__rsp_parse_tid(p, n, &v->tid) || v->tid.tid <= 0)
			return gdb_err(g, -EPROTO, "bad thread id");
		g->nvcpus++;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int load_threads(struct qvmi_gdb *g)
{
	const char *c = "qfThreadInfo";
	int err;

	g->vcpus = calloc(MAX_VCPUS, sizeof(*g->vcpus));
	if (!g->vcpus)
		return -ENOMEM;
	for (unsigned int i = 0; i < MAX_VCPUS; i++, c = "qsThreadInfo") {
		err = qvmi__gdb_cmd(g, c, NULL);
		if (err)
			return err;
		if (g->buf[0] == 'l')
			break;
		if (g->buf[0] != 'm')
			return qvmi__gdb_reply_err(g, "thread list", 0);
		err = add_threads(g, g->buf + 1);
		if (err)
			return err;
	}
	if (!g->nvcpus)
		return gdb_err(g, -EPROTO, "stub lists no threads");
	return 0;
}

int qvmi__gdb_open_fd(struct qvmi_ctx *ctx, int fd, int timeout_ms,
		      struct qvmi_gdb **ret)
{
	struct qvmi_gdb *g = calloc(1, sizeof(*g));
	int err;

	if (!g) {
		close(fd);
		return qvmi__err(ctx, -ENOMEM, "gdb: out of memory");
	}
	g->ctx = ctx;
	g->refs = 1;
	g->cur_g = -1;
	g->pktsize = 400; /* gdb's assumption when the stub says nothing */
	err = qvmi__rsp_init(&g->conn, ctx, fd, timeout_ms);
	if (err) {
		free(g);
		return err;
	}
	g->buf = malloc(QVMI_RSP_MAX_DECODED + 1);
	err = g->buf ? handshake(g) : -ENOMEM;
	if (!err)
		err = load_layout(g);
	if (!err)
		err = load_threads(g);
	/* Learn whether physical mode exists, and start from a known state:
	 * the mode is global in QEMU 7.2 and outlives connections. */
	if (!err) {
		err = qvmi__gdb_cmd(g, "Qqemu.PhyMemMode:0", NULL);
		g->phys_ok = !err && !strcmp(g->buf, "OK");
	}
	if (err) {
		qvmi__gdb_unref(g);
		return err;
	}
	g->want_running = g->was_running;
	*ret = g;
	return 0;
}

int qvmi__gdb_connect(struct qvmi_ctx *ctx, const char *path, int *ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (!path || strlen(path) >= sizeof(sa.sun_path))
		return qvmi__err(ctx, -EINVAL, "gdb: bad socket path");
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return qvmi__err(ctx, -errno, "gdb: socket: %s",
				 strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(fd);
		return qvmi__err(ctx, err == -ENOENT ? -ENOENT : err,
				 "gdb: connect %s: %s", path, strerror(-err));
	}
	*ret = fd;
	return 0;
}

int qvmi__gdb_open(struct qvmi_ctx *ctx, const char *path, int timeout_ms,
		   struct qvmi_gdb **ret)
{
	int fd, err = qvmi__gdb_connect(ctx, path, &fd);

	return err ? err : qvmi__gdb_open_fd(ctx, fd, timeout_ms, ret);
}

struct qvmi_gdb *qvmi__gdb_ref(struct qvmi_gdb *g)
{
	g->refs++;
	return g;
}

static void shutdown_session(struct qvmi_gdb *g)
{
	char c[64];

	if (g->conn.fd < 0 || !g->vcpus)
		return;
	/* Best effort, each step bounded by the timeout. */
	if (g->running && qvmi__gdb_interrupt(g))
		return;
	for (size_t i = g->nbps; i-- > 0;) {
		snprintf(c, sizeof(c), "z%d,%" PRIx64 ",%x", g->bps[i].kind,
			 g->bps[i].addr, g->bps[i].len);
		if (qvmi__gdb_cmd(g, c, NULL))
			return;
	}
	g->nbps = 0;
	if (g->phys && qvmi__gdb_cmd(g, "Qqemu.PhyMemMode:0", NULL))
		return;
	if (g->want_running)
		qvmi__gdb_detach(g);
}

void qvmi__gdb_unref(struct qvmi_gdb *g)
{
	if (!g || --g->refs > 0)
		return;
	if (g->buf)
		shutdown_session(g);
	qvmi__rsp_deinit(&g->conn);
	qvmi__gdb_layout_deinit(&g->layout);
	free(g->vcpus);
	free(g->buf);
	free(g);
}

/* ---- accessors ------------------------------------------------------------ */

struct qvmi_rsp_conn *qvmi__gdb_conn(struct qvmi_gdb *g)
{
	return &g->conn;
}

const struct qvmi__gdb_layout *qvmi__gdb_layout(const struct qvmi_gdb *g)
{
	return &g->layout;
}

unsigned int qvmi__gdb_nvcpus(const struct qvmi_gdb *g)
{
	return g->nvcpus;
}

bool qvmi__gdb_running(const struct qvmi_gdb *g)
{
	return g->running;
}

bool qvmi__gdb_was_running(const struct qvmi_gdb *g)
{
	return g->was_running;
}

bool qvmi__gdb_has_phys(const struct qvmi_gdb *g)
{
	return g->phys_ok;
}

void qvmi__gdb_want_running(struct qvmi_gdb *g, bool run)
{
	g->want_running = run;
}

size_t qvmi__gdb_bp_count(const struct qvmi_gdb *g)
{
	return g->nbps;
}

/* ---- registers ------------------------------------------------------------ */

static int need_stopped(struct qvmi_gdb *g, const char *what)
{
	if (g->running)
		return qvmi__err(g->ctx, -EBUSY, "gdb: %s: the VM is running",
				 what);
	return 0;
}

static int select_vcpu(struct qvmi_gdb *g, unsigned int vcpu)
{
	char c[TID_MAX + 4];
	int err;

	if (vcpu >= g->nvcpus)
		return qvmi__err(g->ctx, -EINVAL, "gdb: no vCPU %u (of %u)",
				 vcpu, g->nvcpus);
	err = need_stopped(g, "select vCPU");
	if (err || g->cur_g == (int)vcpu)
		return err;
	snprintf(c, sizeof(c), "Hg%s", g->vcpus[vcpu].id);
	err = qvmi__gdb_expect_ok(g, c, "select vCPU");
	if (!err)
		g->cur_g = (int)vcpu;
	return err;
}

static int hex_reply(struct qvmi_gdb *g, size_t n, uint8_t *buf, size_t cap,
		     size_t *ret_len, const char *what)
{
	int err;

	if (!n || g->buf[0] == 'E' || n % 2)
		return qvmi__gdb_reply_err(g, what, 0);
	err = qvmi__rsp_hex2bin(g->buf, n, buf, cap, ret_len);
	if (err)
		return qvmi__err(g->ctx, err, "gdb: %s: bad hex reply", what);
	return 0;
}

int qvmi__gdb_read_g(struct qvmi_gdb *g, unsigned int vcpu, uint8_t *buf,
		     size_t cap, size_t *ret_len)
{
	size_t n;
	int err = select_vcpu(g, vcpu);

	if (!err)
		err = qvmi__gdb_cmd(g, "g", &n);
	return err ? err : hex_reply(g, n, buf, cap, ret_len, "read registers");
}

static int send_hex_cmd(struct qvmi_gdb *g, const char *prefix,
			const uint8_t *data, size_t len, const char *what)
{
	size_t pl = strlen(prefix);
	char *c;
	int err;

	if (pl + 2 * len + 1 > g->pktsize ||
	    pl + 2 * len >= QVMI_RSP_MAX_PACKET)
		return qvmi__err(g->ctx, -EINVAL, "gdb: %s: too long", what);
	c = malloc(pl + 2 * len + 1);
	if (!c)
		return -ENOMEM;
	memcpy(c, prefix, pl);
	qvmi__rsp_bin2hex(data, len, c + pl);
	err = qvmi__gdb_expect_ok(g, c, what);
	free(c);
	return err;
}

int qvmi__gdb_write_g(struct qvmi_gdb *g, unsigned int vcpu, const uint8_t *buf,
		      size_t len)
{
	int err = select_vcpu(g, vcpu);

	return err ? err : send_hex_cmd(g, "G", buf, len, "write registers");
}

int qvmi__gdb_read_reg(struct qvmi_gdb *g, unsigned int vcpu,
		       unsigned int regnum, uint8_t *buf, size_t cap,
		       size_t *ret_len)
{
	char c[24];
	size_t n;
	int err = select_vcpu(g, vcpu);

	if (err)
		return err;
	snprintf(c, sizeof(c), "p%x", regnum);
	err = qvmi__gdb_cmd(g, c, &n);
	return err ? err : hex_reply(g, n, buf, cap, ret_len, "read register");
}

int qvmi__gdb_write_reg(struct qvmi_gdb *g, unsigned int vcpu,
			unsigned int regnum, const uint8_t *buf, size_t len)
{
	char c[24];
	int err = select_vcpu(g, vcpu);

	if (err)
		return err;
	snprintf(c, sizeof(c), "P%x=", regnum);
	return send_hex_cmd(g, c, buf, len, "write register");
}

int qvmi__gdb_get_regs(struct qvmi_gdb *g, unsigned int vcpu,
		       struct qvmi_regs_x86 *ret)
{
	uint8_t *img = malloc(QVMI_RSP_MAX_DECODED / 2);
	size_t n = 0;
	int err;

	if (!img)
		return -ENOMEM;
	err = qvmi__gdb_read_g(g, vcpu, img, QVMI_RSP_MAX_DECODED / 2, &n);
	if (!err) {
		memset(ret, 0, sizeof(*ret));
		err = qvmi__gdb_regs_from_g(&g->layout, img, n, ret);
	}
	free(img);
	return err;
}

int qvmi__gdb_set_regs(struct qvmi_gdb *g, unsigned int vcpu,
		       const struct qvmi_regs_x86 *regs)
{
	uint8_t *img = malloc(QVMI_RSP_MAX_DECODED / 2);
	size_t n = 0;
	int err;

	if (!img)
		return -ENOMEM;
	err = qvmi__gdb_read_g(g, vcpu, img, QVMI_RSP_MAX_DECODED / 2, &n);
	if (!err && n < g->layout.gsize)
		err = gdb_err(g, -EPROTO, "short register image");
	if (!err) {
		err = qvmi__gdb_regs_to_g(&g->layout, regs, img, n);
		if (err)
			err = gdb_err(g, err, "register not in target layout");
	}
	if (!err)
		err = qvmi__gdb_write_g(g, vcpu, img, n);
	/* Moved off the breakpoint it stopped at: continuing must not step
	 * over that breakpoint from somewhere else. */
	if (!err && (regs->valid & QVMI_REGS_GPR) && g->have_last &&
	    g->last.vcpu == vcpu && g->last.rip != regs->rip)
		g->have_last = false;
	free(img);
	return err;
}

/* ---- memory ------------------------------------------------------------ */

static int set_phys(struct qvmi_gdb *g, bool phys)
{
	int err;

	if (g->phys == phys)
		return 0;
	if (phys && !g->phys_ok)
		return qvmi__err(g->ctx, -EOPNOTSUPP,
				 "gdb: stub has no physical memory mode");
	err = qvmi__gdb_expect_ok(
		g, phys ? "Qqemu.PhyMemMode:1" : "Qqemu.PhyMemMode:0",
		"physical memory mode");
	if (!err)
		g->phys = phys;
	return err;
}

static int mem_prepare(struct qvmi_gdb *g, unsigned int vcpu, bool phys)
{
	int err = need_stopped(g, "memory access") ?: set_phys(g, phys);

	/* Virtual addresses go through the Hg vCPU's page tables. */
	return err ? err : phys ? 0 : select_vcpu(g, vcpu);
}

/* gdb sizes 'm' by the reply (PacketSize / 2 bytes) and 'M' by the
 * request (the hex data and its header must fit in PacketSize). */
static size_t mem_chunk(const struct qvmi_gdb *g, size_t overhead)
{
	size_t n = (g->pktsize - overhead) / 2;

	return QVMI_MIN(n, (size_t)MEM_CHUNK);
}

int qvmi__gdb_read_mem(struct qvmi_gdb *g, unsigned int vcpu, bool phys,
		       uint64_t addr, void *buf, size_t len)
{
	size_t chunk = mem_chunk(g, 0);
	uint8_t *out = buf;
	int err = mem_prepare(g, vcpu, phys);

	while (!err && len) {
		size_t want = QVMI_MIN(len, chunk), n, got;
		char c[48];

		snprintf(c, sizeof(c), "m%" PRIx64 ",%zx", addr, want);
		err = qvmi__gdb_cmd(g, c, &n);
		if (err)
			break;
		if (!n || g->buf[0] == 'E' || n % 2) {
			err = qvmi__gdb_reply_err(g, "memory not readable",
						  addr);
			break;
		}
		err = qvmi__rsp_hex2bin(g->buf, n, out, want, &got);
		if (!err && got != want) /* a short read: the rest faults */
			err = qvmi__fault(g->ctx, addr + got,
					  "gdb: memory not readable");
		else if (err)
			err = qvmi__err(g->ctx, err, "gdb: bad memory reply");
		addr += want;
		out += want;
		len -= want;
	}
	return err;
}

int qvmi__gdb_write_mem(struct qvmi_gdb *g, unsigned int vcpu, bool phys,
			uint64_t addr, const void *buf, size_t len)
{
	size_t chunk = mem_chunk(g, 48);
	const uint8_t *in = buf;
	int err = mem_prepare(g, vcpu, phys);

	while (!err && len) {
		size_t want = QVMI_MIN(len, chunk);
		char c[48];

		snprintf(c, sizeof(c), "M%" PRIx64 ",%zx:", addr, want);
		err = send_hex_cmd(g, c, in, want, "memory not writable");
		if (err == -EFAULT)
			err = qvmi__fault(g->ctx, addr,
					  "gdb: memory not writable");
		addr += want;
		in += want;
		len -= want;
	}
	return err;
}
