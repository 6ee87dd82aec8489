// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Corpus replay driver for builds without libFuzzer (gcc): runs
 * LLVMFuzzerTestOneInput over every regular file in the directories given
 * as arguments, so every crash found once stays a test forever.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long sz;
	int err = -1;

	if (!f)
		return -1;
	if (!fseek(f, 0, SEEK_END) && (sz = ftell(f)) >= 0) {
		rewind(f);
		buf = malloc(sz ? (size_t)sz : 1);
		if (buf && fread(buf, 1, (size_t)sz, f) == (size_t)sz) {
			LLVMFuzzerTestOneInput(buf, (size_t)sz);
			err = 0;
		}
	}
	free(buf);
	fclose(f);
	return err;
}

int main(int argc, char **argv)
{
	unsigned int passed = 0, failed = 0;

	for (int i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		struct dirent *e;

		if (!d) {
			fprintf(stderr, "%s: cannot open\n", argv[i]);
			failed++;
			continue;
		}
		while ((e = readdir(d))) {
			char path[4096];
			struct stat st;

			snprintf(path, sizeof(path), "%s/%s", argv[i],
				 e->d_name);
			if (stat(path, &st) || !S_ISREG(st.st_mode))
				continue;
			if (run_file(path)) {
				fprintf(stderr, "%s: cannot read\n", path);
				failed++;
			} else {
				passed++;
			}
		}
		closedir(d);
	}
	printf("%u passed, %u failed, 0 skipped\n", passed, failed);
	return failed ? 1 : 0;
}
