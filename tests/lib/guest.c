// SPDX-License-Identifier: LGPL-2.1-or-later
/* The demo guest's location and ground truth: see guest.h and guest/init. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest.h"

/* Caps per kind: a runaway log cannot make us allocate without bound. */
enum {
	MAX_PS = 8192,
	MAX_KSYM = 512,
	MAX_MARKERS = 64,
	MAX_MAPS = 8192,
	MAX_CMDLINES = 8192,
	MAX_MODULES = 1024,
	MAX_IOMEM = 1024,
	MAX_ENV_LINES = 64,
	MAX_DMESG = 4096,
};

struct guest_ksym {
	char name[GUEST_COMM_MAX];
	uint64_t addr;
};

struct guest_cmdline {
	int pid;
	char *args;
};

/* A growable array of fixed-size elements with a hard cap. */
struct vec {
	void *v;
	size_t n, cap;
};

struct gt {
	struct vec ps, ksym, markers, maps, cmdlines, modules, iomem, threads;
	struct vec dmesg[2]; /* char *: head, tail */
	char *banner, *uname, *kcmdline, *btf_md5;
	uint64_t btf_size;
	int have_btf, ready;
	size_t bad;
};

static struct gt gt;
static int gt_loaded;

static struct qvmi_guest guest;
static char env_buf[MAX_ENV_LINES][GUEST_LINE_MAX / 4];
static int env_state; /* 0 not tried, 1 ok, -1 unavailable */
static int atexit_done;

static void *vec_push(struct vec *vec, size_t elem, size_t max)
{
	void *p;

	if (vec->n >= max)
		return NULL;
	if (vec->n == vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 16;

		if (cap > max)
			cap = max;
		p = realloc(vec->v, cap * elem);
		if (!p)
			return NULL;
		vec->v = p;
		vec->cap = cap;
	}
	p = (char *)vec->v + vec->n++ * elem;
	memset(p, 0, elem);
	return p;
}

static void vec_free(struct vec *vec)
{
	free(vec->v);
	memset(vec, 0, sizeof(*vec));
}

static void gt_reset(void)
{
	struct guest_cmdline *c = gt.cmdlines.v;

	for (size_t i = 0; i < gt.cmdlines.n; i++)
		free(c[i].args);
	for (int k = 0; k < 2; k++) {
		char **d = gt.dmesg[k].v;

		for (size_t i = 0; i < gt.dmesg[k].n; i++)
			free(d[i]);
		vec_free(&gt.dmesg[k]);
	}
	vec_free(&gt.ps);
	vec_free(&gt.ksym);
	vec_free(&gt.markers);
	vec_free(&gt.maps);
	vec_free(&gt.cmdlines);
	vec_free(&gt.modules);
	vec_free(&gt.iomem);
	vec_free(&gt.threads);
	free(gt.banner);
	free(gt.uname);
	free(gt.kcmdline);
	free(gt.btf_md5);
	memset(&gt, 0, sizeof(gt));
	gt_loaded = 0;
}

void guest_reset(void)
{
	gt_reset();
	env_state = 0;
	memset(&guest, 0, sizeof(guest));
}

/* ---- tokens ------------------------------------------------------------ */

/* Unsigned number in base 10 or 16 (with or without 0x when base 16),
 * ending at a space or the end of the line. */
static int parse_u64(const char **s, int base, uint64_t *ret)
{
	const char *p = *s;
	char *end;
	unsigned long long v;

	if (base == 16 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	if (!((*p >= '0' && *p <= '9') ||
	      (base == 16 &&
	       ((*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))))
		return -EINVAL;
	errno = 0;
	v = strtoull(p, &end, base);
	if (errno || (*end && *end != ' '))
		return -EINVAL;
	*ret = v;
	*s = *end ? end + 1 : end;
	return 0;
}

static int parse_int(const char **s, int *ret)
{
	uint64_t v;

	if (parse_u64(s, 10, &v) || v > 0x7fffffff)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

/* Next space-separated word into out (bounded); fails if empty/too long. */
static int parse_word(const char **s, char *out, size_t size)
{
	size_t n = strcspn(*s, " ");

	if (!n || n >= size)
		return -EINVAL;
	memcpy(out, *s, n);
	out[n] = '\0';
	*s += n;
	if (**s == ' ')
		(*s)++;
	return 0;
}

/* "key=0x<hex>" */
static int parse_kv_hex(const char **s, const char *key, uint64_t *ret)
{
	size_t kl = strlen(key);

	if (strncmp(*s, key, kl) || (*s)[kl] != '=')
		return -EINVAL;
	*s += kl + 1;
	return parse_u64(s, 16, ret);
}

static int parse_kv_word(const char **s, const char *key, char *out,
			 size_t size)
{
	size_t kl = strlen(key);

	if (strncmp(*s, key, kl) || (*s)[kl] != '=')
		return -EINVAL;
	*s += kl + 1;
	return parse_word(s, out, size);
}

static int set_str(char **dst, const char *s)
{
	char *d = strdup(s);

	if (!d)
		return -ENOMEM;
	free(*dst);
	*dst = d;
	return 0;
}

/* ---- one kind per function ---------------------------------------------- */

static int gt_ps(const char *s)
{
	struct guest_ps ps = { 0 };
	struct guest_ps *p;
	size_t n;

	if (parse_int(&s, &ps.pid) || parse_int(&s, &ps.ppid))
		return -EINVAL;
	if (!s[0] || s[1] != ' ')
		return -EINVAL;
	ps.state = s[0];
	s += 2;
	/* comm is the rest: it may contain spaces */
	n = strlen(s);
	if (!n || n >= sizeof(ps.comm))
		return -EINVAL;
	memcpy(ps.comm, s, n + 1);
	p = vec_push(&gt.ps, sizeof(*p), MAX_PS);
	if (!p)
		return -ENOSPC;
	*p = ps;
	return 0;
}

/* "<tid> <tgid> <comm>" (comm: the rest of the line) */
static int gt_thread(const char *s)
{
	struct guest_thread t = { 0 };
	struct guest_thread *p;
	size_t n;

	if (parse_int(&s, &t.tid) || parse_int(&s, &t.tgid))
		return -EINVAL;
	n = strlen(s);
	if (!n || n >= sizeof(t.comm) || t.tid <= 0 || t.tgid <= 0)
		return -EINVAL;
	memcpy(t.comm, s, n + 1);
	p = vec_push(&gt.threads, sizeof(*p), MAX_PS);
	if (!p)
		return -ENOSPC;
	*p = t;
	return 0;
}

static int gt_ksym(const char *s)
{
	struct guest_ksym k = { 0 };
	struct guest_ksym *p;
	char type[4];

	if (parse_u64(&s, 16, &k.addr) || parse_word(&s, type, sizeof(type)) ||
	    parse_word(&s, k.name, sizeof(k.name)) || *s)
		return -EINVAL;
	p = vec_push(&gt.ksym, sizeof(*p), MAX_KSYM);
	if (!p)
		return -ENOSPC;
	*p = k;
	return 0;
}

static int gt_marker(const char *s)
{
	struct guest_marker m = { 0 };
	struct guest_marker *p;

	if (parse_int(&s, &m.pid) || parse_word(&s, m.comm, sizeof(m.comm)) ||
	    parse_kv_hex(&s, "heap_va", &m.heap_va) ||
	    parse_kv_hex(&s, "heap_pa", &m.heap_pa) ||
	    parse_kv_hex(&s, "stack_va", &m.stack_va) ||
	    parse_kv_hex(&s, "stack_pa", &m.stack_pa) ||
	    parse_kv_word(&s, "heap", m.heap, sizeof(m.heap)) ||
	    parse_kv_word(&s, "stack", m.stack, sizeof(m.stack)) || *s)
		return -EINVAL;
	p = vec_push(&gt.markers, sizeof(*p), MAX_MARKERS);
	if (!p)
		return -ENOSPC;
	*p = m;
	return 0;
}

/* "<pid> 00400000-00401000 r--p 00000000 00:02 173      /bin/x" */
static int gt_maps(const char *s)
{
	struct guest_map m = { 0 };
	struct guest_map *p;
	char dev[16], range[40];
	const char *r = range;
	uint64_t inode;
	size_t n;

	if (parse_int(&s, &m.pid) || parse_word(&s, range, sizeof(range)) ||
	    parse_word(&s, m.perms, sizeof(m.perms)) ||
	    parse_u64(&s, 16, &m.offset) || parse_word(&s, dev, sizeof(dev)) ||
	    parse_u64(&s, 10, &inode))
		return -EINVAL;
	n = strcspn(range, "-");
	if (range[n] != '-' || strlen(m.perms) != 4)
		return -EINVAL;
	range[n] = ' ';
	if (parse_u64(&r, 16, &m.start) || parse_u64(&r, 16, &m.end) || *r ||
	    m.end <= m.start)
		return -EINVAL;
	s += strspn(s, " ");
	n = strlen(s);
	if (n >= sizeof(m.path))
		return -EINVAL;
	memcpy(m.path, s, n + 1);
	p = vec_push(&gt.maps, sizeof(*p), MAX_MAPS);
	if (!p)
		return -ENOSPC;
	*p = m;
	return 0;
}

static int gt_cmdline(const char *s)
{
	struct guest_cmdline *p;
	int pid;

	if (parse_int(&s, &pid) || !*s)
		return -EINVAL;
	p = vec_push(&gt.cmdlines, sizeof(*p), MAX_CMDLINES);
	if (!p)
		return -ENOSPC;
	p->pid = pid;
	p->args = strdup(s);
	if (!p->args) {
		gt.cmdlines.n--;
		return -ENOMEM;
	}
	return 0;
}

/* "crc7 16384 0 - Live 0xffffffffc04da000" (addr may be absent) */
static int gt_module(const char *s)
{
	struct guest_module m = { 0 };
	struct guest_module *p;
	char skip[GUEST_LINE_MAX / 8];
	uint64_t refs;

	if (parse_word(&s, m.name, sizeof(m.name)) ||
	    parse_u64(&s, 10, &m.size) || parse_u64(&s, 10, &refs) ||
	    parse_word(&s, skip, sizeof(skip)) ||
	    parse_word(&s, m.state, sizeof(m.state)))
		return -EINVAL;
	/* taint flags such as "(OE)" may follow the address */
	if (*s && (parse_u64(&s, 16, &m.addr) || (*s && *s != '(')))
		return -EINVAL;
	p = vec_push(&gt.modules, sizeof(*p), MAX_MODULES);
	if (!p)
		return -ENOSPC;
	*p = m;
	return 0;
}

/* "  00100000-1ffdffff : System RAM" */
static int gt_iomem(const char *s)
{
	struct guest_iomem io = { 0 };
	struct guest_iomem *p;
	size_t sp = strspn(s, " "), n;
	char range[40];
	const char *r = range;

	io.depth = (int)(sp / 2);
	s += sp;
	if (parse_word(&s, range, sizeof(range)) || strncmp(s, ": ", 2))
		return -EINVAL;
	s += 2;
	n = strcspn(range, "-");
	if (range[n] != '-')
		return -EINVAL;
	range[n] = ' ';
	if (parse_u64(&r, 16, &io.start) || parse_u64(&r, 16, &io.end) || *r ||
	    io.end < io.start)
		return -EINVAL;
	n = strlen(s);
	if (!n || n >= sizeof(io.name))
		return -EINVAL;
	memcpy(io.name, s, n + 1);
	p = vec_push(&gt.iomem, sizeof(*p), MAX_IOMEM);
	if (!p)
		return -ENOSPC;
	*p = io;
	return 0;
}

/* "<6>[    0.000000] Linux version ..." (head) or the same (tail) */
static int gt_dmesg_k(int k, const char *s)
{
	char **p;

	if (s[0] != '<')
		return -EINVAL;
	p = vec_push(&gt.dmesg[k], sizeof(*p), MAX_DMESG);
	if (!p)
		return -ENOSPC;
	*p = strdup(s);
	if (!*p) {
		gt.dmesg[k].n--;
		return -ENOMEM;
	}
	return 0;
}

static int gt_dmesg(const char *s)
{
	return gt_dmesg_k(0, s);
}

static int gt_dmesg_tail(const char *s)
{
	return gt_dmesg_k(1, s);
}

static int gt_btf(const char *s)
{
	char md5[33];

	if (parse_u64(&s, 10, &gt.btf_size) ||
	    parse_word(&s, md5, sizeof(md5)) || strlen(md5) != 32 || *s)
		return -EINVAL;
	gt.have_btf = 1;
	return set_str(&gt.btf_md5, md5);
}

/* Dispatch one line (without the "QVMI-GT " prefix and line end). */
static int gt_line(const char *s)
{
	static const struct {
		const char *kind;
		int (*fn)(const char *s);
	} kinds[] = {
		{ "ps", gt_ps },	   { "ksym", gt_ksym },
		{ "marker", gt_marker },   { "maps", gt_maps },
		{ "cmdline", gt_cmdline }, { "modules", gt_module },
		{ "iomem", gt_iomem },	   { "btf", gt_btf },
		{ "dmesg", gt_dmesg },	   { "dmesg_tail", gt_dmesg_tail },
		{ "thread", gt_thread },
	};
	size_t kl = strcspn(s, " ");

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strlen(kinds[i].kind) == kl &&
		    !strncmp(s, kinds[i].kind, kl))
			return s[kl] ? kinds[i].fn(s + kl + 1) : -EINVAL;
	if (!strncmp(s, "banner ", 7))
		return set_str(&gt.banner, s + 7);
	if (!strncmp(s, "uname ", 6))
		return set_str(&gt.uname, s + 6);
	if (!strncmp(s, "kcmdline ", 9))
		return set_str(&gt.kcmdline, s + 9);
	if (!strcmp(s, "ready")) {
		gt.ready = 1;
		return 0;
	}
	return 0; /* kinds we do not parse (yet) are not errors */
}

/* ---- loading ------------------------------------------------------------ */

/* Reads one line into buf; an overlong line is consumed and flagged. */
static int read_line(FILE *f, char *buf, size_t size, int *too_long)
{
	size_t n;
	int c;

	if (!fgets(buf, (int)size, f))
		return 0;
	n = strlen(buf);
	*too_long = 0;
	if (n && buf[n - 1] == '\n') {
		buf[--n] = '\0';
	} else if (n == size - 1) {
		*too_long = 1;
		while ((c = fgetc(f)) != EOF && c != '\n')
			;
	}
	while (n && (buf[n - 1] == '\r' || buf[n - 1] == '\n'))
		buf[--n] = '\0';
	return 1;
}

int guest_load_log(const char *path)
{
	static char line[GUEST_LINE_MAX];
	FILE *f;
	int too_long;
	size_t lines = 0;

	gt_reset();
	if (!atexit_done && !atexit(guest_reset))
		atexit_done = 1;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* The ready line ends the ground truth; a serial log is bounded by
	 * the guest, but do not trust that either. */
	while (!gt.ready && lines++ < 1000000 &&
	       read_line(f, line, sizeof(line), &too_long)) {
		if (strncmp(line, "QVMI-GT ", 8))
			continue;
		if (too_long || gt_line(line + 8))
			gt.bad++;
	}
	fclose(f);
	gt_loaded = 1;
	return 0;
}

static const char *env_get(const char *key)
{
	size_t kl = strlen(key);

	for (int i = 0; i < MAX_ENV_LINES && env_buf[i][0]; i++)
		if (!strncmp(env_buf[i], key, kl) && env_buf[i][kl] == '=')
			return env_buf[i] + kl + 1;
	return NULL;
}

/* DIR/guest.env, written by scripts/demo-guest once the guest is ready. */
static int load_env(const char *dir)
{
	char path[GUEST_PATH_MAX * 2];
	const char *pid, *mem;
	int i = 0, too_long;
	FILE *f;

	memset(env_buf, 0, sizeof(env_buf));
	snprintf(path, sizeof(path), "%s/guest.env", dir);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (i < MAX_ENV_LINES - 1 &&
	       read_line(f, env_buf[i], sizeof(env_buf[i]), &too_long))
		if (!too_long && strchr(env_buf[i], '='))
			i++;
	env_buf[i][0] = '\0';
	fclose(f);
	guest.dir = env_get("dir");
	guest.qmp = env_get("qmp");
	guest.gdb = env_get("gdb");
	guest.serial = env_get("serial");
	guest.shm = env_get("shm");
	if (guest.shm && !guest.shm[0])
		guest.shm = NULL;
	guest.backend = env_get("backend");
	guest.machine = env_get("machine");
	guest.append = env_get("append");
	pid = env_get("pid");
	mem = env_get("mem_bytes");
	if (!guest.dir || !guest.qmp || !guest.gdb || !guest.serial || !pid ||
	    !mem || !guest.backend || !guest.machine)
		return -EBADMSG;
	if (!guest.append)
		guest.append = "";
	guest.pid = (pid_t)strtol(pid, NULL, 10);
	guest.mem_bytes = strtoull(mem, NULL, 10);
	return guest.pid > 0 && guest.mem_bytes ? 0 : -EBADMSG;
}

const struct qvmi_guest *guest_get(void)
{
	const char *dir = getenv("QVMI_GUEST_DIR");

	if (env_state == 0) {
		env_state = -1;
		if (dir && *dir && !load_env(dir) &&
		    (gt_loaded || !guest_load_log(guest.serial)) && gt.ready)
			env_state = 1;
	}
	return env_state == 1 ? &guest : NULL;
}

static void ensure_loaded(void)
{
	if (!gt_loaded)
		guest_get();
}

/* ---- queries -------------------------------------------------------------- */

int guest_ksym(const char *name, uint64_t *ret)
{
	const struct guest_ksym *k;

	ensure_loaded();
	k = gt.ksym.v;
	for (size_t i = 0; i < gt.ksym.n; i++)
		if (!strcmp(k[i].name, name)) {
			*ret = k[i].addr;
			return 0;
		}
	return -ENOENT;
}

void guest_ps(const struct guest_ps **ret, size_t *n)
{
	ensure_loaded();
	*ret = gt.ps.v;
	*n = gt.ps.n;
}

const struct guest_ps *guest_ps_find(int pid)
{
	const struct guest_ps *p;
	size_t n;

	guest_ps(&p, &n);
	for (size_t i = 0; i < n; i++)
		if (p[i].pid == pid)
			return &p[i];
	return NULL;
}

int guest_pid_of(const char *comm)
{
	const struct guest_ps *p;
	size_t n;

	guest_ps(&p, &n);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(p[i].comm, comm))
			return p[i].pid;
	return -ENOENT;
}

void guest_markers(const struct guest_marker **ret, size_t *n)
{
	ensure_loaded();
	*ret = gt.markers.v;
	*n = gt.markers.n;
}

/* Maps lines of one pid are printed together, so they are contiguous. */
void guest_maps(int pid, const struct guest_map **ret, size_t *n)
{
	const struct guest_map *m;
	size_t i = 0, j;

	ensure_loaded();
	m = gt.maps.v;
	while (i < gt.maps.n && m[i].pid != pid)
		i++;
	for (j = i; j < gt.maps.n && m[j].pid == pid; j++)
		;
	*ret = i < gt.maps.n ? &m[i] : NULL;
	*n = j - i;
}

const char *guest_cmdline(int pid)
{
	const struct guest_cmdline *c;

	ensure_loaded();
	c = gt.cmdlines.v;
	for (size_t i = 0; i < gt.cmdlines.n; i++)
		if (c[i].pid == pid)
			return c[i].args;
	return NULL;
}

void guest_dmesg(int tail, char *const **ret, size_t *n)
{
	int k = tail ? 1 : 0;

	ensure_loaded();
	*ret = gt.dmesg[k].v;
	*n = gt.dmesg[k].n;
}

void guest_threads(const struct guest_thread **ret, size_t *n)
{
	ensure_loaded();
	*ret = gt.threads.v;
	*n = gt.threads.n;
}

void guest_modules(const struct guest_module **ret, size_t *n)
{
	ensure_loaded();
	*ret = gt.modules.v;
	*n = gt.modules.n;
}

void guest_iomem(const struct guest_iomem **ret, size_t *n)
{
	ensure_loaded();
	*ret = gt.iomem.v;
	*n = gt.iomem.n;
}

const char *guest_banner(void)
{
	ensure_loaded();
	return gt.banner;
}

const char *guest_uname(void)
{
	ensure_loaded();
	return gt.uname;
}

const char *guest_kcmdline(void)
{
	ensure_loaded();
	return gt.kcmdline;
}

int guest_btf(uint64_t *size, const char **md5)
{
	ensure_loaded();
	if (!gt.have_btf)
		return -ENOENT;
	*size = gt.btf_size;
	*md5 = gt.btf_md5;
	return 0;
}

int guest_ready(void)
{
	ensure_loaded();
	return gt.ready;
}

size_t guest_bad_lines(void)
{
	ensure_loaded();
	return gt.bad;
}
