// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * KVMi lifecycle against qvmid --kvmi-connect on the demo guest, with the
 * tool of test-kvmi.c (kvmi-tool.h): the unhook round on qvmid's SIGTERM,
 * someone else's cont under the gdbstub, the breakpoint ledger when the
 * tool dies, a pause during a single-step, the redial after a reset.
 * Ground truth: QEMU's run state and events through qvmid's QMP proxy,
 * the guest's memory, its serial log.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "harness.h"
#include "kvmi-tool.h"
#include "proto/kvmi-wire.h"
#include "qvmi.h"

/* Has qvmid exited within ms?  Reaps it. */
static bool qvmid_exited(int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (waitpid(T.qvmid, NULL, WNOHANG) == T.qvmid) {
			T.qvmid = 0;
			return true;
		}
		usleep(10000);
	}
	return false;
}

static void enable_unhook(void)
{
	uint8_t p[8] = { 0 };

	qvmi__kvmi_put16(p, QVMI_KVMI_EV_UNHOOK);
	p[2] = 1;
	CHECK_INT(call(QVMI_KVMI_CONTROL_VM_EVENTS, p, 8, NULL, 0, NULL), ==,
		  0);
}

/* qvmid asked to stop (SIGTERM) with the tool hooked: the tool gets the
 * UNHOOK event and is still served until it closes, then qvmid exits. */
static void test_sigterm_unhook(void)
{
	uint8_t b[16];
	size_t n;

	start();
	enable_unhook();
	CHECK_OK(kill(T.qvmid, SIGTERM));
	wait_events(1);
	CHECK_INT(T.evq[0].b[4], ==, QVMI_KVMI_EV_UNHOOK);
	T.nev = 0;
	CHECK(!qvmid_exited(300)); /* it waits for the tool */
	CHECK_INT(call(QVMI_KVMI_GET_VERSION, NULL, 0, b, 16, &n), ==, 0);
	close(T.fd);
	T.fd = -1;
	CHECK(qvmid_exited(IO_MS));
}

/* ... and a tool that never closes: qvmid closes it after
 * --kvmi-unhook-timeout and exits; with no UNHOOK event enabled it
 * exits at once. */
static void test_sigterm_unhook_timeout(void)
{
	struct timespec t0, t1;
	uint8_t b[64];
	double ms;

	start_opts(false, "700");
	enable_unhook();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_OK(kill(T.qvmid, SIGTERM));
	wait_events(1);
	CHECK_INT(T.evq[0].b[4], ==, QVMI_KVMI_EV_UNHOOK);
	T.nev = 0;
	CHECK(qvmid_exited(IO_MS));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	CHECK_MSG(ms >= 650 && ms < 5000, "exit after %.0f ms", ms);
	CHECK_INT(read(T.fd, b, sizeof(b)), ==, 0); /* qvmid closed it */
	stop_all(NULL);
	start();
	CHECK_OK(kill(T.qvmid, SIGTERM));
	CHECK(qvmid_exited(IO_MS));
}

/*
 * Someone else's cont (libvirt's after -S, a management client's) while
 * the gdbstub client believed the VM stopped: QEMU 7.2's stub takes any
 * byte then as an interrupt, stops the VM and drops the packet.  A
 * register read on the running VM must leave it running, and pausing
 * must still work afterwards.
 */
static void test_resumed_elsewhere(void)
{
	const struct qvmi_guest *g = start_ex(true);
	unsigned int smp = guest_smp(g);
	uint8_t r[16] = { 0 }, b[MSG_MAX];
	char st[32];
	size_t n;
	int fd;

	fd = qmp_send("stop"); /* the stub sends its stop reply */
	CHECK(qmp_replied(fd, IO_MS));
	close(fd);
	CHECK_INT(call(QVMI_KVMI_GET_VERSION, NULL, 0, b, 16, &n), ==, 0);
	fd = qmp_send("cont");
	CHECK(qmp_replied(fd, IO_MS));
	close(fd);
	usleep(200000); /* qvmid sees RESUME */
	for (int i = 0; i < 3; i++) {
		CHECK_INT(call(QVMI_KVMI_GET_REGISTERS, r, 16, b, sizeof(b),
			       &n),
			  ==, 0);
		CHECK(qvmi__kvmi_u64(b + 8 + 128) != 0); /* RIP */
	}
	qmp_status(st, sizeof(st));
	CHECK_STR(st, "running");
	pause_all(smp);
	qmp_status(st, sizeof(st));
	CHECK_STR(st, "paused");
	continue_all();
	CHECK_INT(call(QVMI_KVMI_GET_VERSION, NULL, 0, b, 16, &n), ==, 0);
	qmp_status(st, sizeof(st));
	CHECK_STR(st, "running");
}

/* Plant an int3 on __x64_sys_clock_nanosleep (the guest's sleeper calls
 * it 10 times a second) with BREAKPOINT events on; the VM is left
 * paused by the tool.  *gpa and *orig are the planted byte's. */
static void plant(unsigned int smp, uint64_t *gpa, uint8_t *orig)
{
	uint8_t req[16] = { 0 }, b[16];
	uint64_t va;
	size_t n;

	CHECK_OK(guest_ksym("__x64_sys_clock_nanosleep", &va));
	pause_all(smp);
	qvmi__kvmi_put64(req + 8, va);
	CHECK_INT(call(QVMI_KVMI_VCPU_TRANSLATE_GVA, req, 16, b, 8, &n), ==, 0);
	*gpa = qvmi__kvmi_u64(b);
	CHECK(*gpa != ~0ull);
	qvmi__kvmi_put64(req, *gpa);
	qvmi__kvmi_put64(req + 8, 1);
	CHECK_INT(call(QVMI_KVMI_READ_PHYSICAL, req, 16, orig, 1, &n), ==, 0);
	CHECK(*orig != 0xcc);
	write_byte(*gpa, 0xcc);
	for (unsigned int v = 0; v < smp; v++)
		vcpu_ctl(QVMI_KVMI_CONTROL_EVENTS, v, QVMI_KVMI_EV_BREAKPOINT,
			 1);
}

/* After the tool is gone: the VM runs for 1.5 s of sleeper calls (a
 * breakpoint left in the gdbstub would stop it at the next one), and a
 * new connection reads the original byte back. */
static void check_nothing_left(uint64_t gpa, uint8_t orig)
{
	uint8_t req[16] = { 0 }, b[16];
	char st[32], ev[16384];
	size_t n, len = 0;
	int fd;

	accept_handshake(); /* qvmid dials again: the old one is gone */
	fd = qmp_send("query-status");
	CHECK(qmp_replied(fd, IO_MS));
	/* QMP events for 1.5 s: a stop at a leftover breakpoint is a STOP
	 * (even when qvmid continues the VM at once) */
	for (int i = 0; i < 15 && len < sizeof(ev) - 1; i++) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&p, 1, 100) != 1)
			continue;
		r = read(fd, ev + len, sizeof(ev) - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	ev[len] = 0;
	close(fd);
	CHECK_MSG(!strstr(ev, "\"STOP\""), "%.300s", ev);
	qmp_status(st, sizeof(st));
	CHECK_STR(st, "running");
	qvmi__kvmi_put64(req, gpa);
	qvmi__kvmi_put64(req + 8, 1);
	CHECK_INT(call(QVMI_KVMI_READ_PHYSICAL, req, 16, b, 1, &n), ==, 0);
	CHECK_INT(b[0], ==, orig);
}

/*
 * The breakpoint ledger: a tool that dies holding a breakpoint event (the
 * VM stopped at it), or with a breakpoint armed while the VM runs, leaves
 * no gdbstub breakpoint and no 0xCC behind, and the VM runs.
 */
static void test_tool_dies(void)
{
	const struct qvmi_guest *g = start_ex(true);
	unsigned int smp = guest_smp(g);
	uint64_t gpa;
	uint8_t orig;

	plant(smp, &gpa, &orig);
	continue_all();
	wait_events(1); /* stopped at the breakpoint ... */
	CHECK_INT(T.evq[0].b[4], ==, QVMI_KVMI_EV_BREAKPOINT);
	T.nev = 0;
	close(T.fd); /* ... and the tool dies */
	T.fd = -1;
	check_nothing_left(gpa, orig);
	/* armed, the VM running, and the tool dies */
	plant(smp, &gpa, &orig);
	continue_all();
	close(T.fd);
	T.fd = -1;
	check_nothing_left(gpa, orig);
}

/*
 * PAUSE_VCPU for a vCPU that qvmid is single-stepping (the RETRY of a
 * breakpoint with single-step on; LibVMI's recoil example pausing at its
 * end): the SINGLESTEP event comes first, the PAUSE_VCPU event after its
 * reply, and each reply matches its event.
 */
static void test_pause_during_step(void)
{
	const struct qvmi_guest *g = start_ex(true);
	unsigned int smp = guest_smp(g), v;
	uint8_t p[16] = { 0 }, b[16];
	struct ev e;
	uint64_t gpa;
	uint8_t orig;
	size_t n;

	plant(smp, &gpa, &orig);
	continue_all();
	wait_events(1);
	e = T.evq[0];
	T.nev = 0;
	CHECK_INT(e.b[4], ==, QVMI_KVMI_EV_BREAKPOINT);
	v = qvmi__kvmi_u16(e.b + 2);
	write_byte(gpa, orig);
	vcpu_ctl(QVMI_KVMI_VCPU_CONTROL_SINGLESTEP, v, 0, 1);
	reply_event(&e, QVMI_KVMI_RETRY);
	qvmi__kvmi_put16(p, (uint16_t)v);
	p[8] = 1;
	CHECK_INT(call(QVMI_KVMI_PAUSE_VCPU, p, 16, NULL, 0, NULL), ==, 0);
	wait_events(1);
	e = T.evq[0];
	T.nev = 0;
	CHECK_INT(e.b[4], ==, QVMI_KVMI_EV_SINGLESTEP);
	vcpu_ctl(QVMI_KVMI_VCPU_CONTROL_SINGLESTEP, v, 0, 0);
	reply_event(&e, QVMI_KVMI_CONTINUE);
	wait_events(1);
	CHECK_INT(T.evq[0].b[4], ==, QVMI_KVMI_EV_PAUSE_VCPU);
	CHECK_INT(qvmi__kvmi_u16(T.evq[0].b + 2), ==, v);
	continue_all();
	/* still connected and served */
	CHECK_INT(call(QVMI_KVMI_GET_VERSION, NULL, 0, b, 16, &n), ==, 0);
}

/* "QVMI-GT ready" lines in the serial log: one per boot. */
static int ready_lines(const struct qvmi_guest *g)
{
	char line[512];
	int n = 0;
	FILE *f = fopen(g->serial, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "QVMI-GT ready") != NULL;
	fclose(f);
	return n;
}

/*
 * A guest reset: qvmid closes the connection (the tool's view of the VM
 * is gone, as when KVM's VM goes away), takes its breakpoints out and
 * dials again 300 ms after QEMU's RESET events; the new connection is
 * served.  Only on the "reboot" guest configuration (or with
 * QVMI_KVMI_RESET=1 on a guest without -no-reboot): it reboots the guest.
 */
static void test_reset_redial(void)
{
	const char *cfg = getenv("QVMI_GUEST_CONFIG");
	const struct qvmi_guest *g;
	struct timespec t0;
	uint8_t b[64];
	uint64_t gpa;
	uint8_t orig;
	size_t n;
	int fd, ready0;

	if ((!cfg || strcmp(cfg, "reboot")) && !getenv("QVMI_KVMI_RESET"))
		SKIP("reboots the guest: runs on the 'reboot' configuration "
		     "(or QVMI_KVMI_RESET=1 without -no-reboot)");
	g = start_ex(true);
	ready0 = ready_lines(g);
	plant(guest_smp(g), &gpa, &orig);
	continue_all(); /* armed, the VM running */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fd = qmp_send("system_reset");
	CHECK(qmp_replied(fd, IO_MS));
	close(fd);
	/* qvmid closes this connection (events of the old boot may come
	 * first: a breakpoint hit before the reset) */
	for (;;) {
		struct pollfd p = { T.fd, POLLIN, 0 };
		ssize_t r;

		CHECK_INT(poll(&p, 1, IO_MS), ==, 1);
		r = read(T.fd, b, sizeof(b));
		CHECK(r >= 0);
		if (!r)
			break;
	}
	accept_handshake(); /* the redial */
	qvmi_test_note("redial %.0f ms after system_reset", ms_since(&t0));
	CHECK_INT(call(QVMI_KVMI_GET_VERSION, NULL, 0, b, 16, &n), ==, 0);
	CHECK_INT(call(QVMI_KVMI_GET_MAX_GFN, NULL, 0, b, 8, &n), ==, 0);
	CHECK_U64(qvmi__kvmi_u64(b), ==, g->mem_bytes / 4096);
	/* the guest boots again (later suites share it): its ready line */
	for (int i = 0; i < 240 && ready_lines(g) < ready0 + 1; i++)
		sleep(1);
	CHECK_INT(ready_lines(g), ==, ready0 + 1);
}
static const struct qvmi_test kvmi_life_tests[] = {
	{ "sigterm_unhook", test_sigterm_unhook },
	{ "sigterm_unhook_timeout", test_sigterm_unhook_timeout },
	{ "resumed_elsewhere", test_resumed_elsewhere },
	{ "tool_dies", test_tool_dies },
	{ "pause_during_step", test_pause_during_step },
	{ "reset_redial", test_reset_redial },
};
QVMI_SUITE(kvmi_life, kvmi_life_tests);
