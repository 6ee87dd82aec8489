// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmi-marker: a guest process with known memory contents.
 *
 * It puts "QVMI-HEAP-MARKER:<comm>:<pid>:<hex>" in a malloc'd buffer and
 * "QVMI-STACK-MARKER:<comm>:<pid>:<hex>" on its stack, locks them in RAM,
 * looks up their physical addresses in /proc/self/pagemap (needs root) and
 * writes one ground-truth line to the report file given as argv[1]:
 *   QVMI-GT marker <pid> <comm> heap_va=0x.. heap_pa=0x.. stack_va=0x..
 *     stack_pa=0x.. heap=<string> stack=<string>
 * Then it sleeps forever in pause(), so the strings stay where they are and
 * the process never calls clock_nanosleep (the sleeper owns that syscall).
 * With "--threads N" among its arguments it first starts N threads named
 * "qvmi-thr-<i>" that pause() too: a thread group for the views' thread
 * walk (signal->thread_head; task->thread_group before 6.7).
 * Built with gcc -static for the busybox initramfs.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

enum { MARK_LEN = 128 };

/* Random hex for a marker.  Early in boot under TCG the CRNG is often not
 * ready, so getrandom(GRND_NONBLOCK) fails; then mix the kernel's per-exec
 * AT_RANDOM bytes, the clock and a call counter, which is unique enough
 * for a string that must not occur by chance elsewhere in RAM. */
static void random_hex(char *out, size_t nbytes)
{
	static uint64_t calls;
	unsigned char raw[32];
	size_t i;

	if (nbytes > sizeof(raw))
		nbytes = sizeof(raw);
	if (getrandom(raw, nbytes, GRND_NONBLOCK) != (ssize_t)nbytes) {
		const unsigned char *at = (const void *)getauxval(AT_RANDOM);
		struct timespec ts;
		uint64_t x;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^
		    (uint64_t)ts.tv_sec ^ (uint64_t)getpid() << 32 ^ ++calls;
		for (i = 0; i < nbytes; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			raw[i] = (unsigned char)(x ^ (at ? at[i % 16] : 0));
		}
	}
	for (i = 0; i < nbytes; i++)
		sprintf(out + 2 * i, "%02x", raw[i]);
}

/* Physical address of va via /proc/self/pagemap: PFN in bits 0-54,
 * present in bit 63.  Returns 0 when unknown (not root, not present). */
static uint64_t virt_to_phys(uintptr_t va)
{
	long psz = sysconf(_SC_PAGESIZE);
	uint64_t ent = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &ent, sizeof(ent),
		  (off_t)(va / (uintptr_t)psz * sizeof(ent))) !=
	    (ssize_t)sizeof(ent))
		ent = 0;
	close(fd);
	if (!(ent >> 63) || !(ent & ((1ull << 55) - 1)))
		return 0;
	return (ent & ((1ull << 55) - 1)) * (uint64_t)psz +
	       (va & (uintptr_t)(psz - 1));
}

static int write_report(const char *path, const char *line)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fputs(line, f);
	if (fclose(f))
		return -1;
	return rename(tmp, path);
}

static void *thread_main(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "qvmi-thr-%d", (int)(intptr_t)arg);
	prctl(PR_SET_NAME, name);
	for (;;)
		pause();
	return NULL;
}

/* "--threads N" anywhere in argv: N threads (at most 8). */
static void start_threads(int argc, char **argv)
{
	pthread_t t;
	int n = 0;

	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--threads"))
			n = atoi(argv[i + 1]);
	for (int i = 1; i <= n && i <= 8; i++)
		if (pthread_create(&t, NULL, thread_main, (void *)(intptr_t)i))
			perror("pthread_create");
}

int main(int argc, char **argv)
{
	/* Aligned to their size, so neither buffer crosses a page: the one
	 * physical address reported covers the whole string (a stack string
	 * at a random sub-page offset crossed a page about 1% of boots). */
	char stack_mark[MARK_LEN] __attribute__((aligned(MARK_LEN)));
	char comm[17] = "", hex[33], line[1024];
	char *heap_mark;
	uint64_t heap_pa, stack_pa;

	if (argc < 2) {
		fprintf(stderr, "usage: %s REPORT-FILE [ARGS...]\n", argv[0]);
		return 2;
	}
	prctl(PR_GET_NAME, comm);
	heap_mark = aligned_alloc(MARK_LEN, MARK_LEN);
	if (!heap_mark)
		return 1;
	random_hex(hex, 16);
	snprintf(heap_mark, MARK_LEN, "QVMI-HEAP-MARKER:%s:%d:%s", comm,
		 (int)getpid(), hex);
	random_hex(hex, 16);
	snprintf(stack_mark, sizeof(stack_mark), "QVMI-STACK-MARKER:%s:%d:%s",
		 comm, (int)getpid(), hex);
	/* Locked pages are resident, so the PFNs below are real and the
	 * kernel will not swap them out. */
	mlockall(MCL_CURRENT | MCL_FUTURE);
	heap_pa = virt_to_phys((uintptr_t)heap_mark);
	stack_pa = virt_to_phys((uintptr_t)stack_mark);
	snprintf(line, sizeof(line),
		 "QVMI-GT marker %d %s heap_va=0x%lx heap_pa=0x%llx "
		 "stack_va=0x%lx stack_pa=0x%llx heap=%s stack=%s\n",
		 (int)getpid(), comm, (unsigned long)(uintptr_t)heap_mark,
		 (unsigned long long)heap_pa,
		 (unsigned long)(uintptr_t)stack_mark,
		 (unsigned long long)stack_pa, heap_mark, stack_mark);
	start_threads(argc, argv);
	if (write_report(argv[1], line))
		perror(argv[1]);
	for (;;) {
		/* Keep both buffers live: the compiler must assume pause()
		 * can read them. */
		__asm__ volatile(""
				 :
				 : "r"(heap_mark), "r"(stack_mark)
				 : "memory");
		pause();
	}
}
