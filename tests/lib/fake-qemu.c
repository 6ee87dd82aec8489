// SPDX-License-Identifier: LGPL-2.1-or-later
/* A fake QEMU for the attach tests (fake-qemu.h). */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fake-qemu.h"
#include "harness.h"
#include "qvmi.h"

/* The fake VM: ram0 is 6 MiB split like pc with RAM above 4G, plus a
 * 256 KiB BIOS.  File offsets as QEMU 7.2 prints them ("@offset"). */

static const char mtree[] =
	"FlatView #0\r\n"
	" AS \"I/O\", root: io\r\n"
	" Root memory region: io\r\n"
	"  0000000000000000-0000000000000007 (prio 0, i/o): dma-chan\r\n"
	"\r\n"
	"FlatView #1\r\n"
	" AS \"memory\", root: system\r\n"
	" AS \"cpu-memory-0\", root: system\r\n"
	" Root memory region: system\r\n"
	"  0000000000000000-00000000000bffff (prio 0, ram): ram0\r\n"
	"  00000000000c0000-00000000000fffff (prio 0, rom): ram0 "
	"@00000000000c0000\r\n"
	"  0000000000100000-00000000003fffff (prio 0, ram): ram0 "
	"@0000000000100000\r\n"
	"  00000000fec00000-00000000fec00fff (prio 0, i/o): ioapic\r\n"
	"  00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios\r\n"
	"  0000000100000000-00000001001fffff (prio 0, ram): ram0 "
	"@0000000000400000\r\n"
	"\r\n";

/* The same VM at -S, before the firmware shadowed the BIOS area: the
 * top 128 KiB of pc.bios show at 0xe0000 (QEMU 7.2 "isa-bios"). */
static const char mtree_prelaunch[] =
	"FlatView #1\r\n"
	" AS \"memory\", root: system\r\n"
	" Root memory region: system\r\n"
	"  0000000000000000-00000000000bffff (prio 0, ram): ram0\r\n"
	"  00000000000e0000-00000000000fffff (prio 1, rom): pc.bios "
	"@0000000000020000\r\n"
	"  0000000000100000-00000000003fffff (prio 0, ram): ram0 "
	"@0000000000100000\r\n"
	"  00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios\r\n"
	"  0000000100000000-00000001001fffff (prio 0, ram): ram0 "
	"@0000000000400000\r\n"
	"\r\n";

/* mtree plus a hot-plugged 1 MiB DIMM at 6 GiB (its own region). */
static const char mtree_dimm[] =
	"  0000000180000000-00000001800fffff (prio 0, ram): dimm0\r\n";

/* Host address of gpa in the fake QEMU, or NULL (not RAM/ROM). */
uint8_t *fakeq_hva(struct fake *f, uint64_t gpa)
{
	if (gpa < 0x400000)
		return f->ram + gpa;
	if (gpa >= HIGH_GPA && gpa < HIGH_GPA + 0x200000)
		return f->ram + 0x400000 + (gpa - HIGH_GPA);
	if (gpa >= BIOS_GPA && gpa < BIOS_GPA + BIOS_SIZE)
		return f->bios + (gpa - BIOS_GPA);
	return NULL;
}

uint8_t *fakeq_hva_now(struct fake *f, uint64_t gpa)
{
	if (f->dimm && gpa >= DIMM_GPA && gpa < DIMM_GPA + (1 << 20))
		return f->dimm + (gpa - DIMM_GPA);
	if (f->prelaunch && gpa >= 0xe0000 && gpa < 0x100000)
		return f->bios + 0x20000 + (gpa - 0xe0000);
	return fakeq_hva(f, gpa);
}

static char *hmp(struct fake *f, const char *cmd)
{
	unsigned long long a;
	size_t n, cap = 1 << 20, len = 0;
	char *out = calloc(1, cap);

	if (!strcmp(cmd, "info mtree -f")) {
		f->mtrees++;
		snprintf(out, cap, "%s",
			 f->no_ram    ? "FlatView #0\r\n" :
			 f->prelaunch ? mtree_prelaunch :
					mtree);
		if (f->dimm) /* before the view's closing blank line */
			snprintf(out + strlen(out) - 2, cap - strlen(out) + 2,
				 "%s\r\n", mtree_dimm);
	} else if (sscanf(cmd, "gpa2hva %llx", &a) == 1) {
		f->gpa2hva++;
		if (fakeq_hva_now(f, a))
			snprintf(out, cap,
				 "Host virtual address for 0x%llx (ram0) is "
				 "%p\r\n",
				 a, (void *)fakeq_hva_now(f, a));
		else
			snprintf(out, cap,
				 "Memory at address 0x%llx is not RAM\r\n", a);
	} else if (sscanf(cmd, "xp /%zuxb %llx", &n, &a) == 2 && n <= 65536) {
		for (size_t i = 0; i < n && len + 128 < cap; i += 8) {
			const uint8_t *p = fakeq_hva_now(f, a + i);

			len += (size_t)snprintf(out + len, cap - len,
						"%016llx:", a + i);
			if (!p) {
				len += (size_t)snprintf(
					out + len, cap - len,
					" Cannot access memory\r\n");
				break;
			}
			for (size_t k = i; k < n && k < i + 8; k++)
				len += (size_t)snprintf(out + len, cap - len,
							" 0x%02x", p[k - i]);
			len += (size_t)snprintf(out + len, cap - len, "\r\n");
		}
	} else {
		snprintf(out, cap, "unknown command: '%s'\r\n", cmd);
	}
	return out;
}

static struct json_object *answer(struct fake *f, struct json_object *req)
{
	struct json_object *ex, *args, *cl, *r = json_object_new_object();
	const char *cmd = "";

	if (json_object_object_get_ex(req, "execute", &ex))
		cmd = json_object_get_string(ex);
	f->queries++;
	if (!strcmp(cmd, "query-name")) {
		json_object_object_add(r, "name",
				       json_object_new_string("fakevm"));
	} else if (!strcmp(cmd, "query-uuid")) {
		json_object_object_add(
			r, "UUID",
			json_object_new_string(
				"5e1f2a3b-0000-4000-8000-000000000001"));
	} else if (!strcmp(cmd, "query-target")) {
		/* QEMU 7.2's qemu-system-i386 says "i386" */
		json_object_object_add(r, "arch",
				       json_object_new_string("i386"));
	} else if (!strcmp(cmd, "query-qvmi") && !f->no_query_qvmi) {
		json_object_object_add(r, "qemu-pid",
				       json_object_new_int64(getpid()));
	} else if (!strcmp(cmd, "stop") || !strcmp(cmd, "cont")) {
		/* an empty return */
	} else if (!strcmp(cmd, "query-status")) {
		json_object_object_add(
			r, "status",
			json_object_new_string(f->prelaunch ? "prelaunch" :
							      "running"));
		json_object_object_add(r, "running",
				       json_object_new_boolean(!f->prelaunch));
	} else if (!strcmp(cmd, "human-monitor-command") &&
		   json_object_object_get_ex(req, "arguments", &args) &&
		   json_object_object_get_ex(args, "command-line", &cl)) {
		char *text = hmp(f, json_object_get_string(cl));

		json_object_put(r);
		r = json_object_new_string(text);
		free(text);
	} else if (strcmp(cmd, "qmp_capabilities")) {
		json_object_put(r);
		return NULL;
	}
	return r;
}

static void reply(int fd, struct fake *f, struct json_object *req)
{
	struct json_object *msg = json_object_new_object(), *ret, *id;
	const char *s;

	if (f->event) {
		if (send(fd, f->event, strlen(f->event), MSG_NOSIGNAL) < 0 ||
		    send(fd, "\r\n", 2, MSG_NOSIGNAL) < 0)
			f->event = NULL;
		f->event = NULL;
	}
	ret = answer(f, req);
	if (ret) {
		json_object_object_add(msg, "return", ret);
	} else {
		struct json_object *e = json_object_new_object();

		json_object_object_add(
			e, "class", json_object_new_string("CommandNotFound"));
		json_object_object_add(e, "desc",
				       json_object_new_string("not in fake"));
		json_object_object_add(msg, "error", e);
	}
	if (json_object_object_get_ex(req, "id", &id))
		json_object_object_add(msg, "id", json_object_get(id));
	s = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
	/* a write error means the client went away: its problem */
	if (send(fd, s, strlen(s), MSG_NOSIGNAL) > 0 &&
	    send(fd, "\r\n", 2, MSG_NOSIGNAL) > 0)
		s = NULL;
	json_object_put(msg);
}

/* One client, served until it goes. */
static void fake_serve(struct fake *f, int fd)
{
	static const char greeting[] =
		"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": "
		"2, \"major\": 7}, \"package\": \"\"}, \"capabilities\": "
		"[\"oob\"]}}\r\n";
	struct json_tokener *tok = json_tokener_new();
	char buf[4096];
	ssize_t n;

	if (send(fd, greeting, sizeof(greeting) - 1, MSG_NOSIGNAL) < 0)
		goto closefd;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		const char *s = buf, *end = buf + n;

		/* requests are JSON objects, possibly several per read */
		while (s < end) {
			struct json_object *req =
				json_tokener_parse_ex(tok, s, (int)(end - s));

			if (!req && json_tokener_get_error(tok) !=
					    json_tokener_continue)
				goto closefd;
			s += json_tokener_get_parse_end(tok);
			if (!req)
				break;
			reply(fd, f, req);
			json_object_put(req);
			json_tokener_reset(tok);
			while (s < end &&
			       (*s == '\r' || *s == '\n' || *s == ' '))
				s++;
		}
	}
closefd:
	close(fd);
	json_tokener_free(tok);
}

/* Clients one after the other, as QEMU serves them (one at a time). */
static void *fake_main(void *arg)
{
	struct fake *f = arg;
	struct pollfd p = { .fd = f->lfd, .events = POLLIN };
	int fd;

	while (f->conns < (f->max_conns ?: 1)) {
		if (poll(&p, 1, 5000) != 1)
			break;
		fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			break;
		f->conns++;
		fake_serve(f, fd);
	}
	return NULL;
}

void fakeq_start(struct fake *f, bool shared_ram)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/qvmi-attach-XXXXXX");
	CHECK(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/qmp.sock", f->dir);
	f->memfd = memfd_create("memory-backend-memfd", MFD_CLOEXEC);
	CHECK(f->memfd >= 0);
	CHECK_OK(ftruncate(f->memfd, RAM_SIZE));
	f->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
		      shared_ram ? MAP_SHARED : MAP_PRIVATE, f->memfd, 0);
	f->bios = mmap(NULL, BIOS_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(f->ram != MAP_FAILED && f->bios != MAP_FAILED);
	for (size_t i = 0; i < RAM_SIZE; i += 64)
		f->ram[i] = (uint8_t)(i >> 6) | 1;
	memcpy(f->ram + 0x400000 + 0x1234, "above 4G", 8);
	memset(f->bios, 0xb1, BIOS_SIZE);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(f->lfd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	CHECK_OK(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)));
	CHECK_OK(listen(f->lfd, 1));
	/* the layout cache goes to the test's own directory */
	CHECK_OK(setenv("XDG_CACHE_HOME", f->dir, 1));
}

/* After fakeq_start and any setting of f: serve. */
void fakeq_run(struct fake *f)
{
	CHECK_INT(pthread_create(&f->th, NULL, fake_main, f), ==, 0);
}

/* Path of the one layout file in the test's cache directory, or "". */
void fakeq_cache_file(struct fake *f, char *buf, size_t size)
{
	char d[80];
	struct dirent *e;
	DIR *dp;

	buf[0] = '\0';
	snprintf(d, sizeof(d), "%s/qvmi", f->dir);
	dp = opendir(d);
	while (dp && (e = readdir(dp)))
		if (!strncmp(e->d_name, "layout-", 7))
			snprintf(buf, size, "%s/%.64s", d, e->d_name);
	if (dp)
		closedir(dp);
}

void fakeq_stop_nojoin(struct fake *f)
{
	char path[256], d[128];

	fakeq_cache_file(f, path, sizeof(path));
	if (path[0])
		unlink(path);
	snprintf(d, sizeof(d), "%s/qvmi", f->dir);
	rmdir(d);
	unsetenv("XDG_CACHE_HOME");
	close(f->lfd);
	close(f->memfd);
	munmap(f->ram, RAM_SIZE);
	munmap(f->bios, BIOS_SIZE);
	unlink(f->path);
	rmdir(f->dir);
}

void fakeq_stop(struct fake *f)
{
	pthread_join(f->th, NULL);
	fakeq_stop_nojoin(f);
}

/* QVMI_TEST_LOG=1: the library's log on stderr, to see why an attach
 * took the path it took. */
static void test_log(enum qvmi_log_level level, const char *msg, void *arg)
{
	(void)level;
	(void)arg;
	fprintf(stderr, "log: %s\n", msg);
}

struct qvmi_ctx *fakeq_attach(struct fake *f, unsigned int kinds, int *err)
{
	QVMI_OPTS(qvmi_attach_opts, opts, .sources = kinds, .timeout_ms = 3000);
	struct qvmi_ctx *ctx;

	CHECK_OK(qvmi_ctx_create(&ctx));
	qvmi_cache_set_mode(ctx, QVMI_CACHE_OFF);
	if (getenv("QVMI_TEST_LOG"))
		qvmi_set_log(ctx, test_log, NULL, QVMI_LOG_DEBUG);
	*err = qvmi_attach_qmp(ctx, f->path, &opts);
	return ctx;
}

const char *fakeq_source_at(struct qvmi_ctx *ctx, uint64_t gpa)
{
	struct qvmi_map_entry e;

	for (size_t i = 0; i < qvmi_map_count(ctx); i++) {
		CHECK_OK(qvmi_map_get(ctx, i, &e));
		if (gpa >= e.gpa && gpa - e.gpa < e.size)
			return e.source;
	}
	return "none";
}

/* The same bytes, whichever source serves them. */
void fakeq_check_reads(struct fake *f, struct qvmi_ctx *ctx)
{
	uint8_t b[0x3000];
	char s[9] = { 0 };

	CHECK_OK(qvmi_read_pa(ctx, 0xbf000, b, sizeof(b))); /* ram|rom */
	CHECK(!memcmp(b, f->ram + 0xbf000, sizeof(b)));
	CHECK_OK(qvmi_read_pa(ctx, HIGH_GPA + 0x1234, s, 8));
	CHECK_STR(s, "above 4G");
	CHECK_OK(qvmi_read_pa(ctx, BIOS_GPA + 0x100, b, 16));
	CHECK_INT(b[15], ==, 0xb1);
	/* the I/O hole and past the end of RAM */
	CHECK_INT(qvmi_read_pa(ctx, 0x3ffff8, b, 16), ==, -EFAULT);
	CHECK_U64(qvmi_fault_addr(ctx), ==, 0x400000);
	CHECK_INT(qvmi_read_pa(ctx, HIGH_GPA + 0x1ffff8, b, 16), ==, -EFAULT);
	CHECK_U64(qvmi_fault_addr(ctx), ==, HIGH_GPA + 0x200000);
}
