// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A KVMi tool written here from the protocol (KVMI-WIRE.md, libkvmi
 * master's headers), against qvmid --kvmi-connect on the demo guest: it
 * listens, takes qvmid's handshake, pauses every vCPU the way libkvmi's
 * kvmi_pause_all_vcpus does, reads registers and memory, walks the task
 * list through libqvmi over a memory source whose reads are KVMi
 * READ_PHYSICALs, translates a GVA, resumes with one CONTINUE per PAUSE
 * event, and checks that qvmid dials again after the tool goes away.
 * Ground truth: the guest's own ps and markers (serial log), guest.env,
 * and QEMU's run state through qvmid's QMP proxy.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "harness.h"
#include "kvmi-tool.h"
#include "proto/kvmi-wire.h"
#include "qvmi.h"

struct tool T = { .lfd = -1, .fd = -1 };

static void read_all(int fd, void *buf, size_t n)
{
	uint8_t *b = buf;

	while (n) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t got;

		CHECK_INT(poll(&p, 1, IO_MS), ==, 1);
		got = read(fd, b, n);
		CHECK_MSG(got > 0, "read: %zd", got);
		b += got;
		n -= (size_t)got;
	}
}

static void send_seq(uint16_t id, uint32_t seq, const void *p, size_t n)
{
	uint8_t b[MSG_MAX];
	struct qvmi_kvmi_hdr h = { id, (uint16_t)n, seq };

	qvmi__kvmi_hdr_encode(&h, b);
	if (n)
		memcpy(b + QVMI_KVMI_HDR, p, n);
	CHECK_INT(write(T.fd, b, QVMI_KVMI_HDR + n), ==,
		  (ssize_t)(QVMI_KVMI_HDR + n));
}

uint32_t send_msg(uint16_t id, const void *p, size_t n)
{
	send_seq(id, ++T.seq, p, n);
	return T.seq;
}

/* One message; events are queued, as libkvmi does while it waits. */
int32_t get_reply(uint16_t id, uint32_t seq, void *out, size_t cap, size_t *n)
{
	for (int i = 0; i < 64; i++) {
		uint8_t b[MSG_MAX];
		struct qvmi_kvmi_hdr h;
		const char *why;

		read_all(T.fd, b, QVMI_KVMI_HDR);
		CHECK_OK(qvmi__kvmi_hdr_decode(b, &h, &why));
		read_all(T.fd, b + QVMI_KVMI_HDR, h.size);
		if (h.id == QVMI_KVMI_EVENT) {
			CHECK(T.nev < MAX_EVQ);
			T.evq[T.nev].seq = h.seq;
			T.evq[T.nev].size = h.size;
			memcpy(T.evq[T.nev++].b, b + QVMI_KVMI_HDR, h.size);
			continue;
		}
		CHECK_INT(h.id, ==, id);
		CHECK_INT(h.seq, ==, seq);
		CHECK_INT(h.size, >=, QVMI_KVMI_ERR);
		if (n)
			*n = h.size - QVMI_KVMI_ERR;
		if (out)
			memcpy(out, b + QVMI_KVMI_HDR + QVMI_KVMI_ERR,
			       QVMI_MIN(cap, (size_t)h.size - QVMI_KVMI_ERR));
		return (int32_t)qvmi__kvmi_u32(b + QVMI_KVMI_HDR);
	}
	CHECK_MSG(0, "no reply to id %u", id);
	return 0;
}

int32_t call(uint16_t id, const void *p, size_t n, void *out, size_t cap,
	     size_t *got)
{
	uint32_t seq = send_msg(id, p, n);

	return get_reply(id, seq, out, cap, got);
}

void wait_events(unsigned int want)
{
	while (T.nev < want) {
		uint8_t b[MSG_MAX];
		struct qvmi_kvmi_hdr h;
		const char *why;

		read_all(T.fd, b, QVMI_KVMI_HDR);
		CHECK_OK(qvmi__kvmi_hdr_decode(b, &h, &why));
		CHECK_INT(h.id, ==, QVMI_KVMI_EVENT);
		read_all(T.fd, b + QVMI_KVMI_HDR, h.size);
		T.evq[T.nev].seq = h.seq;
		T.evq[T.nev].size = h.size;
		memcpy(T.evq[T.nev++].b, b + QVMI_KVMI_HDR, h.size);
	}
}

void stop_all(void *arg)
{
	(void)arg;
	if (T.fd >= 0)
		close(T.fd);
	if (T.lfd >= 0)
		close(T.lfd);
	T.fd = T.lfd = -1;
	if (T.qvmid > 0) {
		kill(T.qvmid, SIGTERM);
		waitpid(T.qvmid, NULL, 0);
		T.qvmid = 0;
	}
	unlink(T.sock);
	rmdir(T.dir);
}

void accept_handshake(void)
{
	struct pollfd p = { T.lfd, POLLIN, 0 };
	uint8_t hs[96], ans[24] = { 0 };

	CHECK_INT(poll(&p, 1, IO_MS), ==, 1);
	if (T.fd >= 0)
		close(T.fd);
	T.fd = accept4(T.lfd, NULL, NULL, SOCK_CLOEXEC);
	CHECK(T.fd >= 0);
	read_all(T.fd, hs, sizeof(hs));
	CHECK_INT(qvmi__kvmi_u32(hs), ==, 96);
	/* start_time: QEMU's start, in Unix seconds, before now */
	CHECK((int64_t)qvmi__kvmi_u64(hs + 24) > 1600000000);
	CHECK((int64_t)qvmi__kvmi_u64(hs + 24) <= (int64_t)time(NULL));
	CHECK_INT(hs[32 + 63], ==, 0);
	qvmi__kvmi_put32(ans, 24); /* no key: zeros, as LibVMI sends */
	CHECK_INT(write(T.fd, ans, sizeof(ans)), ==, 24);
	T.nev = 0;
}

/* Listen, start qvmid dialling us (with the gdbstub when gdb, and
 * --kvmi-unhook-timeout when unhook_ms), take the handshake. */
const struct qvmi_guest *start_opts(bool gdb, const char *unhook_ms)
{
	const struct qvmi_guest *g = guest_get();
	const char *build = getenv("QVMI_BUILD");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char qvmid[512];

	if (!g || !build)
		SKIP("no guest (QVMI_GUEST_DIR, QVMI_BUILD)");
	snprintf(qvmid, sizeof(qvmid), "%s/qvmid", build);
	qvmi_test_defer(stop_all, NULL);
	snprintf(T.dir, sizeof(T.dir), "/tmp/kvmi-itest-XXXXXX");
	CHECK(mkdtemp(T.dir) != NULL);
	snprintf(T.sock, sizeof(T.sock), "%s/tool.sock", T.dir);
	snprintf(T.proxy, sizeof(T.proxy), "%s/qmp.sock", T.dir);
	T.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", T.sock);
	CHECK_OK(bind(T.lfd, (struct sockaddr *)&sa, sizeof(sa)));
	CHECK_OK(listen(T.lfd, 2));
	T.qvmid = fork();
	CHECK(T.qvmid >= 0);
	if (!T.qvmid) {
		const char *argv[16] = { qvmid,	  "--qmp",
					 g->qmp,  "--listen-qmp",
					 T.proxy, "--kvmi-connect",
					 T.sock,  "--kvmi-reconnect",
					 "100" };
		int n = 9;

		if (getenv("QVMI_KVMI_QVMID_V"))
			argv[n++] = "-vv";
		if (gdb) {
			argv[n++] = "--gdb";
			argv[n++] = g->gdb;
		}
		if (unhook_ms) {
			argv[n++] = "--kvmi-unhook-timeout";
			argv[n++] = unhook_ms;
		}
		execv(qvmid, (char *const *)argv);
		_exit(127);
	}
	accept_handshake();
	return g;
}

const struct qvmi_guest *start_ex(bool gdb)
{
	return start_opts(gdb, NULL);
}

const struct qvmi_guest *start(void)
{
	return start_ex(false);
}

/* QEMU's run state through qvmid's QMP proxy: "running", "paused". */
void qmp_status(char *out, size_t cap)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static const char cmds[] = "{\"execute\":\"qmp_capabilities\"}\n"
				   "{\"execute\":\"query-status\"}\n";
	char buf[8192] = "", *st;
	size_t len = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", T.proxy);
	CHECK_OK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	CHECK_INT(write(fd, cmds, strlen(cmds)), ==, (ssize_t)strlen(cmds));
	while (!strstr(buf, "\"status\"") && len < sizeof(buf) - 1) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		CHECK_INT(poll(&p, 1, IO_MS), ==, 1);
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		CHECK(n > 0);
		len += (size_t)n;
		buf[len] = 0;
	}
	close(fd);
	st = strstr(buf, "\"status\": \"");
	CHECK(st != NULL);
	st += strlen("\"status\": \"");
	snprintf(out, cap, "%.*s", (int)strcspn(st, "\""), st);
}

unsigned int guest_smp(const struct qvmi_guest *g)
{
	char path[512], line[256];
	unsigned int smp = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/guest.env", g->dir);
	f = fopen(path, "re");
	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "smp=%u", &smp) == 1)
			break;
	fclose(f);
	CHECK(smp > 0);
	return smp;
}

/* libkvmi's kvmi_pause_all_vcpus: (enable=0, now=1), PAUSE_VCPU(wait=1)
 * for each vCPU, (enable=1, now=1); only the last is answered. */
void pause_all(unsigned int n)
{
	uint8_t off[8] = { 0, 1 }, on[8] = { 1, 1 }, p[16] = { 0 };
	uint32_t seq;

	send_msg(QVMI_KVMI_CONTROL_CMD_RESPONSE, off, 8);
	for (unsigned int v = 0; v < n; v++) {
		qvmi__kvmi_put16(p, (uint16_t)v);
		p[8] = 1;
		send_msg(QVMI_KVMI_PAUSE_VCPU, p, 16);
	}
	seq = send_msg(QVMI_KVMI_CONTROL_CMD_RESPONSE, on, 8);
	CHECK_INT(get_reply(QVMI_KVMI_CONTROL_CMD_RESPONSE, seq, NULL, 0, NULL),
		  ==, 0);
	wait_events(n);
}

/* One CONTINUE per queued event; the reply carries the event's seq. */
void continue_all(void)
{
	for (unsigned int i = 0; i < T.nev; i++) {
		uint8_t p[16] = { 0 };

		memcpy(p, T.evq[i].b + 2, 2); /* vcpu */
		p[8] = QVMI_KVMI_CONTINUE;
		p[9] = T.evq[i].b[4]; /* event */
		send_seq(QVMI_KVMI_EVENT_REPLY, T.evq[i].seq, p, 16);
	}
	T.nev = 0;
}

/* ---- a libqvmi memory source over KVMi READ_PHYSICAL ---- */

static int kv_read(struct qvmi_source *s, uint64_t gpa, void *buf, size_t len)
{
	uint8_t *b = buf;

	(void)s;
	while (len) {
		uint8_t req[16];
		size_t n = QVMI_MIN(len, 4096 - (gpa & 4095)), got = 0;

		qvmi__kvmi_put64(req, gpa);
		qvmi__kvmi_put64(req + 8, n);
		if (call(QVMI_KVMI_READ_PHYSICAL, req, 16, b, n, &got) ||
		    got != n)
			return -EFAULT;
		T.reads++;
		b += n;
		gpa += n;
		len -= n;
	}
	return 0;
}

static const struct qvmi_source_ops kv_ops = { .name = "kvmi",
					       .read = kv_read };

/* struct kvmi_event offsets (KVMI-WIRE.md): kvm_regs at 16, kvm_sregs
 * at 160, MSRs at 472. */
enum {
	EV_MODE = 8,
	EV_RIP = 16 + 16 * 8,
	EV_CS = 160 + 0,
	EV_CR3 = 160 + 8 * 24 + 32 + 16,
	EV_EFER = 160 + 8 * 24 + 32 + 40,
	EV_MSR_EFER = 472 + 3 * 8,
};

static void check_pause_events(unsigned int smp, uint64_t *cr3, uint64_t *rip)
{
	bool seen[64] = { false };

	CHECK_INT(T.nev, ==, smp);
	for (unsigned int i = 0; i < T.nev; i++) {
		const uint8_t *e = T.evq[i].b;
		unsigned int v = qvmi__kvmi_u16(e + 2);
		/* struct kvm_segment: base, limit, selector, type, present,
		 * dpl, db, s, l */
		const uint8_t *cs = e + EV_CS;

		CHECK_INT(T.evq[i].size, ==, 544);
		CHECK_INT(qvmi__kvmi_u16(e), ==, 544);
		CHECK_INT(e[4], ==, QVMI_KVMI_EV_PAUSE_VCPU);
		CHECK(v < smp && v < 64 && !seen[v]);
		seen[v] = true;
		CHECK_INT(e[EV_MODE], ==, 8); /* long mode, CS.L */
		CHECK_INT(cs[14 + 4], ==, 1); /* cs.l */
		CHECK_INT(qvmi__kvmi_u16(cs + 12), ==, 0x10); /* __KERNEL_CS */
		CHECK(qvmi__kvmi_u64(e + EV_EFER) & (1u << 10)); /* LMA */
		CHECK_U64(qvmi__kvmi_u64(e + EV_MSR_EFER), ==,
			  qvmi__kvmi_u64(e + EV_EFER));
		if (v == 0) {
			*cr3 = qvmi__kvmi_u64(e + EV_CR3);
			*rip = qvmi__kvmi_u64(e + EV_RIP);
		}
	}
	CHECK(*cr3 != 0);
}

static void check_registers(uint64_t rip)
{
	uint8_t req[16 + 8] = { 0 }, b[MSG_MAX];
	size_t n;

	qvmi__kvmi_put16(req + 8, 2);
	qvmi__kvmi_put32(req + 16, 0xc0000080); /* EFER */
	qvmi__kvmi_put32(req + 20, 0xc0000101); /* GS_BASE */
	CHECK_INT(call(QVMI_KVMI_GET_REGISTERS, req, 24, b, sizeof(b), &n), ==,
		  0);
	CHECK_INT(n, ==, 472 + 2 * 16);
	CHECK_INT(qvmi__kvmi_u32(b), ==, 8);
	CHECK_U64(qvmi__kvmi_u64(b + 8 + 128), ==, rip);
	CHECK_INT(qvmi__kvmi_u32(b + 464), ==, 2);
	CHECK_INT(qvmi__kvmi_u32(b + 472), ==, 0xc0000080);
	CHECK(qvmi__kvmi_u64(b + 472 + 8) & (1u << 10));
	/* GS_BASE in the kernel: a per-cpu area in the direct map */
	CHECK(qvmi__kvmi_u64(b + 472 + 24) >= 0xff00000000000000ull);
	/* LSTAR: no stock read path, -KVM_EINVAL by default (docs/KVMI.md) */
	qvmi__kvmi_put16(req + 8, 1);
	qvmi__kvmi_put32(req + 16, 0xc0000082);
	CHECK_INT(call(QVMI_KVMI_GET_REGISTERS, req, 20, b, sizeof(b), &n), ==,
		  -EINVAL);
}

static void check_markers(void)
{
	const struct guest_marker *m;
	size_t nm, checked = 0;

	guest_markers(&m, &nm);
	CHECK(nm > 0);
	for (size_t i = 0; i < nm; i++) {
		uint8_t req[16], b[4096];
		size_t n, len = strlen(m[i].heap);

		if (!m[i].heap_pa || !len || len > 4096 - (m[i].heap_pa & 4095))
			continue;
		qvmi__kvmi_put64(req, m[i].heap_pa);
		qvmi__kvmi_put64(req + 8, len);
		CHECK_INT(call(QVMI_KVMI_READ_PHYSICAL, req, 16, b, sizeof(b),
			       &n),
			  ==, 0);
		CHECK_INT(n, ==, len);
		CHECK_MSG(!memcmp(b, m[i].heap, len), "marker of pid %d",
			  m[i].pid);
		checked++;
	}
	CHECK(checked > 0);
}

static bool is_kworker(const char *comm)
{
	return !strncmp(comm, "kworker", 7);
}

/* libqvmi's Linux layer over KVMi reads: the process list. */
static void check_tasks(uint64_t cr3, uint64_t rip, uint64_t mem)
{
	struct qvmi_ctx *ctx;
	struct qvmi_source *src;
	struct qvmi_linux *lx;
	struct qvmi_linux_task_list l;
	struct qvmi_linux_opts lo = { .sz = sizeof(lo),
				      .flags = QVMI_LINUX_NO_CACHE };
	const struct guest_ps *gt;
	size_t ngt, found = 0;
	uint64_t pa = 0, kpa = 0;
	uint8_t req[16] = { 0 }, b[8];
	size_t n;

	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi_source_create(ctx, &kv_ops, NULL, 0, &src));
	CHECK_OK(qvmi_map_add(ctx, src, 0, mem, 0));
	CHECK_OK(qvmi_set_paging_mode(ctx, QVMI_PAGING_4LEVEL));
	CHECK_MSG(!qvmi_linux_open(ctx, &lo, &lx), "linux: %s",
		  qvmi_errmsg(ctx));
	CHECK_OK(qvmi_linux_tasks(lx, 0, &l));
	guest_ps(&gt, &ngt);
	CHECK(ngt > 20);
	for (size_t i = 0; i < ngt; i++) {
		const struct qvmi_linux_task *t = NULL;

		for (size_t j = 0; j < l.n && !t; j++)
			if (l.tasks[j].pid == gt[i].pid)
				t = &l.tasks[j];
		CHECK_MSG(t || is_kworker(gt[i].comm), "pid %d (%s) missing",
			  gt[i].pid, gt[i].comm);
		if (!t)
			continue;
		CHECK_INT(t->ppid, ==, gt[i].ppid);
		found++;
	}
	qvmi_test_note("%zu tasks through KVMi READ_PHYSICAL (%" PRIu64
		       " reads); %zu of %zu ground-truth pids",
		       l.n, T.reads, found, ngt);
	qvmi_linux_task_list_deinit(&l);
	/* VCPU_TRANSLATE_GVA of vCPU 0's RIP, against libqvmi's walk */
	CHECK_OK(qvmi_translate(ctx, cr3, rip, &pa));
	qvmi__kvmi_put64(req + 8, rip);
	CHECK_INT(call(QVMI_KVMI_VCPU_TRANSLATE_GVA, req, 16, b, 8, &n), ==, 0);
	kpa = qvmi__kvmi_u64(b);
	CHECK_U64(kpa, ==, pa);
	qvmi__kvmi_put64(req + 8, 0x10); /* unmapped: ~0, not an error */
	CHECK_INT(call(QVMI_KVMI_VCPU_TRANSLATE_GVA, req, 16, b, 8, &n), ==, 0);
	CHECK_U64(qvmi__kvmi_u64(b), ==, ~0ull);
	qvmi_linux_destroy(lx);
	qvmi_ctx_destroy(ctx);
}

static void test_client(void)
{
	const struct qvmi_guest *g = start();
	unsigned int smp = guest_smp(g);
	uint8_t b[MSG_MAX];
	uint64_t cr3 = 0, rip = 0;
	size_t n;
	char st[32];

	CHECK_INT(call(QVMI_KVMI_GET_VERSION, NULL, 0, b, 16, &n), ==, 0);
	CHECK_INT(qvmi__kvmi_u32(b), ==, 1);
	CHECK_INT(call(QVMI_KVMI_GET_GUEST_INFO, NULL, 0, b, 16, &n), ==, 0);
	CHECK_INT(qvmi__kvmi_u32(b), ==, smp);
	CHECK_INT(call(QVMI_KVMI_GET_MAX_GFN, NULL, 0, b, 8, &n), ==, 0);
	CHECK_U64(qvmi__kvmi_u64(b), ==, g->mem_bytes / 4096);
	/* TCG: QEMU has no TSC frequency (qom tsc-frequency 0) */
	memset(b, 0, 8);
	CHECK_INT(call(QVMI_KVMI_GET_VCPU_INFO, b, 8, b, 8, &n), ==, -95);
	/* SET_REGISTERS: only with the gdbstub */
	memset(b, 0, 152);
	CHECK_INT(call(QVMI_KVMI_SET_REGISTERS, b, 152, NULL, 0, NULL), ==,
		  -95);
	qmp_status(st, sizeof(st));
	CHECK_STR(st, "running");
	pause_all(smp);
	qmp_status(st, sizeof(st));
	CHECK_STR(st, "paused");
	check_pause_events(smp, &cr3, &rip);
	check_registers(rip);
	check_markers();
	check_tasks(cr3, rip, g->mem_bytes);
	continue_all();
	/* the last CONTINUE resumes the VM; GET_VERSION orders us after it */
	CHECK_INT(call(QVMI_KVMI_GET_VERSION, NULL, 0, b, 16, &n), ==, 0);
	qmp_status(st, sizeof(st));
	CHECK_STR(st, "running");
	/* a pause, then the tool goes away: qvmid continues the VM and
	 * dials again */
	pause_all(smp);
	close(T.fd);
	T.fd = -1;
	accept_handshake();
	qmp_status(st, sizeof(st));
	CHECK_STR(st, "running");
	CHECK_INT(call(QVMI_KVMI_GET_VERSION, NULL, 0, b, 16, &n), ==, 0);
}

void write_byte(uint64_t gpa, uint8_t v)
{
	uint8_t req[17];

	qvmi__kvmi_put64(req, gpa);
	qvmi__kvmi_put64(req + 8, 1);
	req[16] = v;
	CHECK_INT(call(QVMI_KVMI_WRITE_PHYSICAL, req, 17, NULL, 0, NULL), ==,
		  0);
}

void vcpu_ctl(uint16_t id, unsigned int vcpu, uint16_t ev, uint8_t enable)
{
	uint8_t p[16] = { 0 };

	qvmi__kvmi_put16(p, (uint16_t)vcpu);
	if (id == QVMI_KVMI_CONTROL_EVENTS) {
		qvmi__kvmi_put16(p + 8, ev);
		p[10] = enable;
	} else {
		p[8] = enable;
	}
	CHECK_INT(call(id, p, 16, NULL, 0, NULL), ==, 0);
}

/* SET_REGISTERS at a function's entry: RAX is scratch there (SysV), so
 * the guest does not mind; GET_REGISTERS must read the new value. */
static void set_rax(unsigned int v, const uint8_t *kregs, uint64_t val)
{
	uint8_t p[8 + 144] = { 0 }, r[16] = { 0 }, b[MSG_MAX];
	size_t n;

	qvmi__kvmi_put16(p, (uint16_t)v);
	memcpy(p + 8, kregs, 144);
	qvmi__kvmi_put64(p + 8, val); /* kvm_regs.rax */
	CHECK_INT(call(QVMI_KVMI_SET_REGISTERS, p, sizeof(p), NULL, 0, NULL),
		  ==, 0);
	qvmi__kvmi_put16(r, (uint16_t)v);
	CHECK_INT(call(QVMI_KVMI_GET_REGISTERS, r, 16, b, sizeof(b), &n), ==,
		  0);
	CHECK_U64(qvmi__kvmi_u64(b + 8), ==, val);
	CHECK_U64(qvmi__kvmi_u64(b + 8 + 128), ==, qvmi__kvmi_u64(kregs + 128));
}

void reply_event(const struct ev *e, uint8_t action)
{
	uint8_t p[16] = { 0 };

	memcpy(p, e->b + 2, 2);
	p[8] = action;
	p[9] = e->b[4];
	send_seq(QVMI_KVMI_EVENT_REPLY, e->seq, p, 16);
}

double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * What LibVMI's int3 examples do (breakpoint-recoil): the 0xCC is a plain
 * 1-byte WRITE_PHYSICAL made before BREAKPOINT events are on; each hit:
 * restore, single-step on, RETRY; on SINGLESTEP: 0xCC back, single-step
 * off, CONTINUE.  The guest's sleeper calls clock_nanosleep every 100 ms.
 */
static void test_breakpoint(void)
{
	const struct qvmi_guest *g = start_ex(true);
	unsigned int smp = guest_smp(g);
	uint64_t va, gpa, rip;
	uint8_t req[16] = { 0 }, b[MSG_MAX], orig;
	double cyc[5];
	size_t n;
	char st[32];

	CHECK_OK(guest_ksym("__x64_sys_clock_nanosleep", &va));
	pause_all(smp);
	qvmi__kvmi_put64(req + 8, va);
	CHECK_INT(call(QVMI_KVMI_VCPU_TRANSLATE_GVA, req, 16, b, 8, &n), ==, 0);
	gpa = qvmi__kvmi_u64(b);
	CHECK(gpa != ~0ull);
	qvmi__kvmi_put64(req, gpa);
	qvmi__kvmi_put64(req + 8, 1);
	CHECK_INT(call(QVMI_KVMI_READ_PHYSICAL, req, 16, &orig, 1, &n), ==, 0);
	CHECK(orig != 0xcc);
	write_byte(gpa, 0xcc);
	for (unsigned int v = 0; v < smp; v++) {
		vcpu_ctl(QVMI_KVMI_CONTROL_EVENTS, v, QVMI_KVMI_EV_BREAKPOINT,
			 1);
		vcpu_ctl(QVMI_KVMI_CONTROL_EVENTS, v, QVMI_KVMI_EV_SINGLESTEP,
			 1);
	}
	continue_all();
	for (int hit = 0; hit < 5; hit++) {
		struct timespec t0;
		struct ev e;
		unsigned int v;

		wait_events(1);
		e = T.evq[0];
		T.nev = 0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		v = qvmi__kvmi_u16(e.b + 2);
		CHECK_INT(e.b[4], ==, QVMI_KVMI_EV_BREAKPOINT);
		CHECK_INT(e.size, ==, 544 + 16);
		CHECK_U64(qvmi__kvmi_u64(e.b + 544), ==, gpa);
		CHECK_INT(e.b[544 + 8], ==, 1);
		CHECK_U64(qvmi__kvmi_u64(e.b + EV_RIP), ==, va);
		if (!hit) { /* with the gdbstub: KERNEL_GS_BASE is real */
			uint8_t r[16 + 4] = { 0 };

			qvmi__kvmi_put16(r, (uint16_t)v);
			qvmi__kvmi_put16(r + 8, 1);
			qvmi__kvmi_put32(r + 16, 0xc0000102);
			CHECK_INT(call(QVMI_KVMI_GET_REGISTERS, r, 20, b,
				       sizeof(b), &n),
				  ==, 0);
			CHECK_U64(qvmi__kvmi_u64(b + 8 + 128), ==, va);
			CHECK_INT(qvmi__kvmi_u32(b + 472), ==, 0xc0000102);
			set_rax(v, b + 8, 0x1234567);
		}
		write_byte(gpa, orig);
		vcpu_ctl(QVMI_KVMI_VCPU_CONTROL_SINGLESTEP, v, 0, 1);
		reply_event(&e, QVMI_KVMI_RETRY);
		wait_events(1);
		e = T.evq[0];
		T.nev = 0;
		CHECK_INT(e.b[4], ==, QVMI_KVMI_EV_SINGLESTEP);
		CHECK_INT(qvmi__kvmi_u16(e.b + 2), ==, v);
		CHECK_INT(e.b[544], ==, 0); /* not failed */
		rip = qvmi__kvmi_u64(e.b + EV_RIP);
		/* one instruction on: the function's first (endbr64 or a
		 * push), at most 15 bytes */
		CHECK_MSG(rip > va && rip <= va + 15, "rip 0x%" PRIx64, rip);
		write_byte(gpa, 0xcc);
		vcpu_ctl(QVMI_KVMI_VCPU_CONTROL_SINGLESTEP, v, 0, 0);
		reply_event(&e, QVMI_KVMI_CONTINUE);
		cyc[hit] = ms_since(&t0);
	}
	/* done: pause, restore, resume */
	pause_all(smp);
	write_byte(gpa, orig);
	qvmi__kvmi_put64(req, gpa);
	CHECK_INT(call(QVMI_KVMI_READ_PHYSICAL, req, 16, b, 1, &n), ==, 0);
	CHECK_INT(b[0], ==, orig);
	continue_all();
	CHECK_INT(call(QVMI_KVMI_GET_VERSION, NULL, 0, b, 16, &n), ==, 0);
	qmp_status(st, sizeof(st));
	CHECK_STR(st, "running");
	qsort(cyc, 5, sizeof(cyc[0]), cmp_double);
	qvmi_test_note("5 hits at __x64_sys_clock_nanosleep (gpa 0x%" PRIx64
		       "); breakpoint cycle (restore, step on, RETRY, "
		       "SINGLESTEP, re-arm, step off, CONTINUE) p50 %.2f ms, "
		       "max %.2f ms",
		       gpa, cyc[2], cyc[4]);
}

/* Send one QMP command through qvmid's proxy; the connection is
 * returned (the reply is read by qmp_read_reply). */
int qmp_send(const char *cmd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[512];
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int n;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", T.proxy);
	CHECK_OK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	n = snprintf(buf, sizeof(buf),
		     "{\"execute\":\"qmp_capabilities\"}\n"
		     "{\"execute\":\"%s\",\"id\":7}\n",
		     cmd);
	CHECK_INT(write(fd, buf, (size_t)n), ==, n);
	return fd;
}

/* Is the reply with id 7 there within ms? */
bool qmp_replied(int fd, int ms)
{
	static char buf[16384];
	static size_t len;
	struct pollfd p = { fd, POLLIN, 0 };

	len = 0;
	while (poll(&p, 1, ms) == 1) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = 0;
		if (strstr(buf, "\"id\": 7"))
			return true;
	}
	return false;
}

/*
 * The RFC's unhook: with CONTROL_VM_EVENTS(UNHOOK) on, a management stop
 * through the QMP proxy is held, the tool gets the UNHOOK event, and the
 * stop goes to QEMU once the tool has closed the socket.
 */
static void test_unhook(void)
{
	const struct qvmi_guest *g = start();
	uint8_t p[8] = { 0 }, b[16];
	char st[32];
	size_t n;
	int fd;

	(void)g;
	qvmi__kvmi_put16(p, QVMI_KVMI_EV_UNHOOK);
	p[2] = 1;
	CHECK_INT(call(QVMI_KVMI_CONTROL_VM_EVENTS, p, 8, NULL, 0, NULL), ==,
		  0);
	fd = qmp_send("stop");
	wait_events(1);
	CHECK_INT(T.evq[0].b[4], ==, QVMI_KVMI_EV_UNHOOK);
	T.nev = 0;
	/* held while the tool is still connected (and still served) */
	CHECK(!qmp_replied(fd, 300));
	CHECK_INT(call(QVMI_KVMI_GET_VERSION, NULL, 0, b, 16, &n), ==, 0);
	qmp_status(st, sizeof(st));
	CHECK_STR(st, "running");
	close(T.fd);
	T.fd = -1;
	CHECK(qmp_replied(fd, IO_MS));
	close(fd);
	qmp_status(st, sizeof(st));
	CHECK_STR(st, "paused");
	/* the tool dials in again; management's cont gives the VM back */
	accept_handshake();
	fd = qmp_send("cont");
	CHECK(qmp_replied(fd, IO_MS));
	close(fd);
	qmp_status(st, sizeof(st));
	CHECK_STR(st, "running");
}

/* A management stop during the tool's pause: the VM is management's to
 * continue (the tool's CONTINUEs leave it stopped); their cont runs it. */
static void test_mgmt_stop(void)
{
	const struct qvmi_guest *g = start();
	unsigned int smp = guest_smp(g);
	uint8_t b[16];
	char st[32];
	size_t n;
	int fd;

	pause_all(smp);
	fd = qmp_send("stop");
	CHECK(qmp_replied(fd, IO_MS));
	close(fd);
	continue_all();
	CHECK_INT(call(QVMI_KVMI_GET_VERSION, NULL, 0, b, 16, &n), ==, 0);
	qmp_status(st, sizeof(st));
	CHECK_STR(st, "paused");
	fd = qmp_send("cont");
	CHECK(qmp_replied(fd, IO_MS));
	close(fd);
	qmp_status(st, sizeof(st));
	CHECK_STR(st, "running");
	/* and a plain pause/continue still resumes */
	pause_all(smp);
	continue_all();
	CHECK_INT(call(QVMI_KVMI_GET_VERSION, NULL, 0, b, 16, &n), ==, 0);
	qmp_status(st, sizeof(st));
	CHECK_STR(st, "running");
}

static const struct qvmi_test kvmi_tests[] = {
	{ "client", test_client },
	{ "breakpoint", test_breakpoint },
	{ "unhook", test_unhook },
	{ "mgmt_stop", test_mgmt_stop },
};
QVMI_SUITE(kvmi_client, kvmi_tests);
