/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A model of QEMU 7.2's gdbstub for unit tests (test-gdb, test-sessbp):
 * threads, registers, memory, breakpoints that hit on the next continue. */
#ifndef QVMI_TEST_GDB_MODEL_H
#define QVMI_TEST_GDB_MODEL_H
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "harness.h"
#include "fake-rsp.h"
#include "qvmi.h"
#include "../unit/qemu72-gdb.h"

/* ---- the model stub ------------------------------------------------------ */

enum { GSIZE = 608, VBASE_HI = 0xffffffff, NLOG = 256, MODEL_TIMEOUT = 3000 };
static const uint64_t VBASE = 0xffffffff87800000ull;

struct model {
	/* config */
	bool running_at_connect;
	bool close_after_handshake;
	/* vCont;s does not end (a halted vCPU under TCG) until 0x03 */
	bool step_hangs;
	/* a Z for this address answers E14, as QEMU does for a GVA that
	 * does not translate (0: none; set under lock) */
	uint64_t refuse_z;
	/* stop replies sent at connect, before qSupported is answered */
	int early_stops;
	/* the answer to qfThreadInfo, then "l" (NULL: two vCPUs) */
	const char *threads;
	/* state */
	int fd;
	pthread_t th;
	pthread_mutex_t lock;
	bool running, xml_read, phys, detached;
	int hg, tidx;
	uint8_t g[2][GSIZE];
	struct {
		int type;
		uint64_t addr;
		unsigned int len;
	} bps[16];
	int nbps;
	uint8_t vmem[0x4000];
	uint8_t pmem[0x10000];
	char log[NLOG][48];
	int nlog;
	int interrupts;
};

/* QEMU 7.2 x86-64 register sizes by regnum, from i386-64bit.xml. */
static inline __attribute__((unused)) size_t reg_size(unsigned int n)
{
	if (n <= 16)
		return 8;
	if (n <= 23)
		return 4;
	if (n <= 32)
		return 8;
	if (n <= 40)
		return 10;
	if (n <= 48)
		return 4;
	return n <= 64 ? 16 : 4;
}

static inline __attribute__((unused)) size_t reg_off(unsigned int n)
{
	size_t o = 0;

	for (unsigned int i = 0; i < n; i++)
		o += reg_size(i);
	return o;
}

static inline __attribute__((unused)) uint64_t get64(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | p[n];
	return v;
}

static inline __attribute__((unused)) void put64(uint8_t *p, size_t n,
						 uint64_t v)
{
	for (size_t i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

#define RIP(m, c) get64((m)->g[c] + 128, 8)
#define SET_RIP(m, c, v) put64((m)->g[c] + 128, 8, (v))

static inline __attribute__((unused)) int
m_read_packet(struct model *m, char *out, size_t cap, size_t *len)
{
	unsigned char c;
	size_t n = 0;

	for (;;) {
		if (fake_read_byte(m->fd, &c, MODEL_TIMEOUT))
			return -1;
		if (c == '$')
			break;
		if (c == 0x03 && m->running)
			return 3;
		/* acks; QEMU ignores other bytes while idle */
	}
	for (;;) {
		if (fake_read_byte(m->fd, &c, MODEL_TIMEOUT))
			return -1;
		if (c == '#')
			break;
		if (n + 1 >= cap)
			return -1;
		out[n++] = (char)c;
	}
	if (fake_read_byte(m->fd, &c, MODEL_TIMEOUT) ||
	    fake_read_byte(m->fd, &c, MODEL_TIMEOUT))
		return -1;
	out[n] = '\0';
	*len = n;
	return 0;
}

/* Send a packet (escaping like QEMU's memtox); acks are read later. */
static inline __attribute__((unused)) void m_send(struct model *m,
						  const char *d, size_t n)
{
	char *f = malloc(2 * n + 8);
	unsigned int sum = 0;
	size_t o = 0;

	f[o++] = '$';
	for (size_t i = 0; i < n; i++) {
		char c = d[i];

		if (c == '#' || c == '$' || c == '}' || c == '*') {
			f[o++] = '}';
			sum += '}';
			c ^= 0x20;
		}
		f[o++] = c;
		sum += (unsigned char)c;
	}
	o += (size_t)snprintf(f + o, 4, "#%02x", sum & 0xff);
	if (send(m->fd, f, o, MSG_NOSIGNAL) < 0)
		m->detached = true;
	free(f);
}

static inline __attribute__((unused)) void m_reply(struct model *m,
						   const char *s)
{
	m_send(m, s, strlen(s));
}

static inline __attribute__((unused)) void m_hex(struct model *m,
						 const uint8_t *b, size_t n)
{
	char *h = malloc(2 * n + 1);

	for (size_t i = 0; i < n; i++)
		sprintf(h + 2 * i, "%02x", b[i]);
	m_send(m, h, 2 * n);
	free(h);
}

static inline __attribute__((unused)) void m_xfer(struct model *m,
						  const char *p)
{
	const char *doc = NULL;
	unsigned long off, len;
	char annex[64], *r;
	size_t dl;

	if (sscanf(p, "qXfer:features:read:%63[^:]:%lx,%lx", annex, &off,
		   &len) != 3)
		return m_reply(m, "E22");
	if (!strcmp(annex, "target.xml"))
		doc = qemu72_target_xml;
	else if (!strcmp(annex, "i386-64bit.xml"))
		doc = qemu72_i386_64bit_xml;
	if (!doc)
		return m_reply(m, "E00"); /* as QEMU 7.2 for nosuch.xml */
	m->xml_read = true;
	dl = strlen(doc);
	if (off > dl)
		return m_reply(m, "E22");
	if (len > dl - off)
		len = dl - off;
	/* QEMU caps a chunk at (MAX_PACKET_LENGTH - 5) / 2 */
	if (len > 2045)
		len = 2045;
	r = malloc(len + 2);
	r[0] = off + len < dl ? 'm' : 'l';
	memcpy(r + 1, doc + off, len);
	m_send(m, r, len + 1);
	free(r);
}

static inline __attribute__((unused)) uint8_t *m_mem(struct model *m,
						     uint64_t a, size_t n)
{
	if (m->phys)
		return a + n <= sizeof(m->pmem) && a + n >= a ? m->pmem + a :
								NULL;
	if (a >= VBASE && a + n <= VBASE + sizeof(m->vmem) && a + n > a)
		return m->vmem + (a - VBASE);
	return NULL;
}

static inline __attribute__((unused)) void m_memcmd(struct model *m,
						    const char *p)
{
	unsigned long long a;
	unsigned long n;
	int pos = 0;
	uint8_t *mem;

	if (sscanf(p + 1, "%llx,%lx%n", &a, &n, &pos) != 2)
		return m_reply(m, "");
	if (n > 2048)
		return m_reply(m, "E22");
	mem = m_mem(m, a, n);
	if (!mem)
		return m_reply(m, "E14");
	if (p[0] == 'm')
		return m_hex(m, mem, n);
	p += 1 + pos + 1;
	for (size_t i = 0; i < n; i++) {
		unsigned int b;

		if (sscanf(p + 2 * i, "%2x", &b) != 1)
			return m_reply(m, "E22");
		mem[i] = (uint8_t)b;
	}
	m_reply(m, "OK");
}

static inline __attribute__((unused)) int exec_bp_at(struct model *m,
						     uint64_t a)
{
	for (int i = 0; i < m->nbps; i++)
		if (m->bps[i].type <= 1 && m->bps[i].addr == a)
			return 1;
	return 0;
}

static inline __attribute__((unused)) void m_bp(struct model *m, const char *p)
{
	int type;
	unsigned long long a;
	unsigned int len;

	if (sscanf(p + 1, "%d,%llx,%x", &type, &a, &len) != 3)
		return m_reply(m, "E22");
	if (p[0] == 'Z' && m->refuse_z && a == m->refuse_z)
		return m_reply(m, "E14");
	if (p[0] == 'Z') {
		m->bps[m->nbps].type = type;
		m->bps[m->nbps].addr = a;
		m->bps[m->nbps++].len = len;
		return m_reply(m, "OK");
	}
	for (int i = 0; i < m->nbps; i++)
		if (m->bps[i].type == type && m->bps[i].addr == a) {
			m->bps[i] = m->bps[--m->nbps];
			return m_reply(m, "OK");
		}
	m_reply(m, "E22");
}

/* vCont;c: what a TCG guest with these breakpoints would do next. */
static inline __attribute__((unused)) void m_continue(struct model *m)
{
	char r[96];

	for (int c = 0; c < 2; c++)
		if (exec_bp_at(m, RIP(m, c))) { /* re-hit at once */
			snprintf(r, sizeof(r), "T05thread:p01.0%d;", c + 1);
			return m_reply(m, r);
		}
	for (int i = 0; i < m->nbps; i++) {
		if (m->bps[i].type <= 1) {
			SET_RIP(m, 1, m->bps[i].addr);
			return m_reply(m, "T05thread:p01.02;");
		}
		snprintf(r, sizeof(r), "T05thread:p01.01;%s:%llx;",
			 m->bps[i].type == 2 ? "watch" :
			 m->bps[i].type == 3 ? "rwatch" :
					       "awatch",
			 (unsigned long long)m->bps[i].addr);
		return m_reply(m, r);
	}
	m->running = true; /* until 0x03 */
}

static inline __attribute__((unused)) void m_regcmd(struct model *m,
						    const char *p)
{
	unsigned int n;
	uint8_t *g = m->g[m->hg];

	if (!m->xml_read) /* QEMU 7.2: gdb_has_xml */
		return m_reply(m, "");
	if (sscanf(p + 1, "%x", &n) != 1 || n > 65)
		return m_reply(m, "E14");
	if (p[0] == 'p')
		return m_hex(m, g + reg_off(n), reg_size(n));
	p = strchr(p, '=');
	for (size_t i = 0; p && i < reg_size(n); i++) {
		unsigned int b;

		if (sscanf(p + 1 + 2 * i, "%2x", &b) == 1)
			g[reg_off(n) + i] = (uint8_t)b;
	}
	m_reply(m, "OK");
}

static inline __attribute__((unused)) void m_handle(struct model *m, char *p)
{
	unsigned int b;

	if (!strncmp(p, "qSupported", 10))
		for (int i = 0; i < m->early_stops; i++)
			m_reply(m, "T02thread:01;");
	if (!strncmp(p, "qSupported", 10))
		m_reply(m, "PacketSize=1000;qXfer:features:read+;"
			   "vContSupported+;multiprocess+");
	else if (!strcmp(p, "vCont?"))
		m_reply(m, "vCont;c;C;s;S");
	else if (!strncmp(p, "qXfer:features:read:", 20))
		m_xfer(m, p);
	else if (!strcmp(p, "qfThreadInfo"))
		m->tidx = 1, m_reply(m, m->threads ? m->threads : "mp01.01");
	else if (!strcmp(p, "qsThreadInfo"))
		m_reply(m, m->tidx++ == 1 && !m->threads ? "mp01.02" : "l");
	else if (!strcmp(p, "Hgp01.01") || !strcmp(p, "Hgp01.02"))
		m->hg = p[7] - '1', m_reply(m, "OK");
	else if (p[0] == 'H')
		m_reply(m, "E22");
	else if (!strcmp(p, "Qqemu.PhyMemMode:1") ||
		 !strcmp(p, "Qqemu.PhyMemMode:0"))
		m->phys = p[17] == '1', m_reply(m, "OK");
	else if (p[0] == 'g')
		m_hex(m, m->g[m->hg], GSIZE);
	else if (p[0] == 'G') {
		for (size_t i = 0;
		     i < GSIZE && sscanf(p + 1 + 2 * i, "%2x", &b) == 1; i++)
			m->g[m->hg][i] = (uint8_t)b;
		m_reply(m, "OK");
	} else if (p[0] == 'p' || p[0] == 'P')
		m_regcmd(m, p);
	else if (p[0] == 'm' || p[0] == 'M')
		m_memcmd(m, p);
	else if (p[0] == 'Z' || p[0] == 'z')
		m_bp(m, p);
	else if (!strcmp(p, "vCont;c"))
		m_continue(m);
	else if (!strncmp(p, "vCont;s:p01.0", 13) && m->step_hangs)
		m->running = true;
	else if (!strncmp(p, "vCont;s:p01.0", 13)) {
		int c = p[13] - '1';

		SET_RIP(m, c, RIP(m, c) + 1);
		m_reply(m, c ? "T05thread:p01.02;" : "T05thread:p01.01;");
	} else if (!strcmp(p, "D"))
		m_reply(m, "E22"); /* QEMU 7.2 in multiprocess mode */
	else if (!strcmp(p, "D;1")) {
		m->nbps = 0;
		m->detached = true;
		m_reply(m, "OK");
	} else
		m_reply(m, "");
}

static inline __attribute__((unused)) void *model_main(void *arg)
{
	struct model *m = arg;
	char *buf = malloc(70000);
	size_t n;

	if (m->running_at_connect)
		m_reply(m, "T02thread:01;");
	m->hg = 0;
	while (!m->detached) {
		int r = m_read_packet(m, buf, 70000, &n);

		if (r < 0)
			break;
		pthread_mutex_lock(&m->lock);
		if (r == 3) {
			m->running = false;
			m->interrupts++;
			snprintf(m->log[m->nlog++ % NLOG], 48, "^C");
			m_reply(m, "T02thread:p01.01;");
		} else {
			send(m->fd, "+", 1, MSG_NOSIGNAL);
			snprintf(m->log[m->nlog++ % NLOG], 48, "%.47s", buf);
			m_handle(m, buf);
		}
		pthread_mutex_unlock(&m->lock);
		if (m->close_after_handshake &&
		    !strcmp(buf, "Qqemu.PhyMemMode:0"))
			break;
	}
	free(buf);
	close(m->fd);
	return NULL;
}

static inline __attribute__((unused)) void hex_load(uint8_t *out,
						    const char *hex, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned int b;

		sscanf(hex + 2 * i, "%2x", &b);
		out[i] = (uint8_t)b;
	}
}

static inline __attribute__((unused)) int model_start(struct model *m)
{
	int sv[2];

	pthread_mutex_init(&m->lock, NULL);
	hex_load(m->g[0], qemu72_g_cpu0, GSIZE);
	hex_load(m->g[1], qemu72_g_cpu1, GSIZE);
	for (size_t i = 0; i < sizeof(m->vmem); i++)
		m->vmem[i] = (uint8_t)(i * 13 + 7);
	for (size_t i = 0; i < sizeof(m->pmem); i++)
		m->pmem[i] = (uint8_t)(i * 3 + 1);
	m->running = m->running_at_connect;
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	m->fd = sv[1];
	CHECK_OK(-pthread_create(&m->th, NULL, model_main, m));
	return sv[0];
}

static inline __attribute__((unused)) void model_join(struct model *m)
{
	pthread_join(m->th, NULL);
	pthread_mutex_destroy(&m->lock);
}

/* Index of the first log entry equal to s at or after from, or -1. */
static inline __attribute__((unused)) int log_find(struct model *m,
						   const char *s, int from)
{
	int r = -1;

	pthread_mutex_lock(&m->lock);
	for (int i = from; i < m->nlog && i < NLOG; i++)
		if (!strcmp(m->log[i], s)) {
			r = i;
			break;
		}
	pthread_mutex_unlock(&m->lock);
	return r;
}
#endif
