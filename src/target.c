#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "elfsym.h"
#include "target.h"
#include "util.h"

/* ---- which objects hold RocksDB: answers per build-id ---- */

#define CACHE_MAX 512

/* The key is the build-id, with "+d" when a debug file was found: an
 * object whose debug file is installed later is looked at again. */
struct verdict {
	char build_id[44];
	bool rocksdb;
};

static struct verdict cache[CACHE_MAX];
static int ncache, nsaved;
static bool cache_loaded;

/* The answers file: $CKBTRACE_OBJECTS_CACHE, or /var/cache/ckbtrace-objects
 * (beside the compile cache, not in it: that directory holds compiled
 * programs only).  Used when its directory is this user's and nobody
 * else may write it; not with CKBTRACE_NO_CACHE. */
static bool cache_path(char *path, size_t len)
{
	const char *file = getenv("CKBTRACE_OBJECTS_CACHE");
	char dir[PATH_MAX], *slash;
	struct stat st;

	if (getenv("CKBTRACE_NO_CACHE"))
		return false;
	if (!file || !*file)
		file = "/var/cache/ckbtrace-objects";
	if (snprintf(path, len, "%s", file) >= (int)len ||
	    snprintf(dir, sizeof(dir), "%s", file) >= (int)sizeof(dir))
		return false;
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		strcpy(dir, ".");
	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
	       st.st_uid == geteuid() && !(st.st_mode & 022);
}

static void cache_load(void)
{
	char path[PATH_MAX], line[64], id[64];
	struct stat st;
	int v;
	FILE *f;

	cache_loaded = true;
	if (!cache_path(path, sizeof(path)) || !(f = fopen(path, "re")))
		return;
	if (fstat(fileno(f), &st) != 0 || st.st_uid != geteuid() ||
	    (st.st_mode & 022)) {
		fclose(f);
		return;
	}
	while (ncache < CACHE_MAX && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %d", id, &v) == 2 && strlen(id) >= 8 &&
		    strlen(id) < sizeof(cache[0].build_id)) {
			snprintf(cache[ncache].build_id,
				 sizeof(cache[ncache].build_id), "%s", id);
			cache[ncache++].rocksdb = v != 0;
		}
	nsaved = ncache;
	fclose(f);
}

/* Append the new answers (or write them all again once half of the
 * table was forgotten). */
static void cache_save(void)
{
	char path[PATH_MAX];
	bool all = nsaved == 0 && ncache >= CACHE_MAX / 2;
	FILE *f;
	int i, fd;

	if (nsaved == ncache || !cache_path(path, sizeof(path)))
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC |
		  (all ? O_TRUNC : O_APPEND), 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	for (i = all ? 0 : nsaved; i < ncache; i++)
		fprintf(f, "%s %d\n", cache[i].build_id, cache[i].rocksdb);
	fclose(f);
	nsaved = ncache;
}

static int cache_find(const char *key)
{
	int i;

	if (!cache_loaded)
		cache_load();
	for (i = 0; key[0] && i < ncache; i++)
		if (strcmp(cache[i].build_id, key) == 0)
			return cache[i].rocksdb;
	return -1;
}

static void cache_add(const char *key, bool rocksdb)
{
	if (!key[0])
		return;
	if (ncache == CACHE_MAX) {
		/* forget the oldest half */
		memmove(cache, cache + CACHE_MAX / 2,
			sizeof(cache[0]) * (CACHE_MAX / 2));
		ncache = CACHE_MAX / 2;
		nsaved = 0;
	}
	snprintf(cache[ncache].build_id, sizeof(cache[ncache].build_id), "%s",
		 key);
	cache[ncache++].rocksdb = rocksdb;
}

/* 1 RocksDB, 0 not, -1 no symbol table to tell by. */
static int has_rocksdb(const char *path)
{
	struct elf_file f;
	char key[44];
	bool yes;
	int known;

	if (elf_open(&f, path) != 0)
		return 0;
	key[0] = '\0';
	if (f.build_id[0])
		snprintf(key, sizeof(key), "%s%s", f.build_id,
			 f.debug_elf ? "+d" : "");
	known = cache_find(key);
	if (known >= 0) {
		yes = known;
	} else {
		/* no symbol table to look in, of its own or in a debug file */
		if (!f.has_symtab && !f.has_dynsym && !f.debug_elf)
			yes = false;
		else
			yes = elf_defines_prefix(&f, "rocksdb_") ||
			      elf_defines_prefix(&f, "_ZN7rocksdb");
		cache_add(key, yes);
	}
	known = !yes && !f.has_symtab && !f.debug_elf ? -1 : yes;
	elf_close(&f);
	return known;
}

bool target_has_rocksdb(const char *path)
{
	return has_rocksdb(path) > 0;
}

/* ---- the objects a process maps ---- */

static void add_lib(struct target *t, const char *open_path,
		    const char *shown)
{
	int i;

	for (i = 0; i < t->nlibs; i++)
		if (strcmp(t->libs[i], open_path) == 0)
			return;
	if (t->nlibs == TARGET_MAX_LIBS)
		return;
	snprintf(t->libs[t->nlibs], PATH_MAX, "%s", open_path);
	snprintf(t->libs_shown[t->nlibs], PATH_MAX, "%s", shown);
	t->nlibs++;
}

int target_map_objects(pid_t pid,
		       int (*fn)(const char *open_path, const char *shown,
				 dev_t dev, ino_t ino, void *arg),
		       void *arg)
{
	char path[64], line[PATH_MAX + 256], open_path[PATH_MAX + 64], *file;
	char perms[8], devs[16], range[64], *del;
	unsigned long long ino;
	unsigned int major, minor;
	struct { dev_t dev; ino_t ino; } seen[256];
	int nseen = 0, i, r = 0, n;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	fp = fopen(path, "re");
	if (!fp)
		return -errno;
	while (!r && fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\n")] = '\0';
		file = strchr(line, '/');
		if (!file || sscanf(line, "%63s %7s %*s %15s %llu", range,
				    perms, devs, &ino) != 4 ||
		    !strchr(perms, 'x') ||
		    sscanf(devs, "%x:%x", &major, &minor) != 2)
			continue;
		for (i = 0; i < nseen; i++)
			if (seen[i].ino == (ino_t)ino &&
			    seen[i].dev == makedev(major, minor))
				break;
		if (i < nseen)
			continue;
		if (nseen < (int)ARRAY_SIZE(seen)) {
			seen[nseen].dev = makedev(major, minor);
			seen[nseen++].ino = (ino_t)ino;
		}
		/* a file deleted since it was mapped (a JNI library that
		 * was extracted, loaded and removed) is still there */
		del = strstr(file, " (deleted)");
		if (del) {
			*del = '\0';
			n = snprintf(open_path, sizeof(open_path),
				     "/proc/%d/map_files/%s", pid, range);
		} else {
			n = snprintf(open_path, sizeof(open_path),
				     "/proc/%d/root%s", pid, file);
		}
		if (n < 0 || (size_t)n >= sizeof(open_path))
			continue;
		r = fn(open_path, file, makedev(major, minor), (ino_t)ino, arg);
	}
	fclose(fp);
	return r;
}

struct scan {
	struct target *t;
	struct stat exe;
};

static int scan_object(const char *open_path, const char *shown, dev_t dev,
		       ino_t ino, void *arg)
{
	struct scan *s = arg;

	if (dev == s->exe.st_dev && ino == s->exe.st_ino)
		return 0;
	s->t->nobjects++;
	switch (has_rocksdb(open_path)) {
	case 1:
		add_lib(s->t, open_path, shown);
		break;
	case -1:
		if (s->t->nopaque < TARGET_MAX_LIBS)
			snprintf(s->t->opaque[s->t->nopaque++], PATH_MAX,
				 "%s", open_path);
		break;
	}
	return 0;
}

static int check_pid(pid_t pid)
{
	/* EPERM only means no CAP_KILL (a service limited to the tracing
	 * capabilities): reading /proc/PID/exe is the real test */
	if (pid <= 0 || (kill(pid, 0) < 0 && errno != EPERM))
		return -ESRCH;
	return 0;
}

int target_from_pid(struct target *t, pid_t pid)
{
	struct scan s = { .t = t };
	char link[64];
	ssize_t n;
	int err;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	err = check_pid(pid);
	if (err)
		return err;
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, t->exe_shown, sizeof(t->exe_shown) - 1);
	if (n < 0)
		return errno == ENOENT ? -ESRCH :
		       errno == EPERM ? -EACCES : -errno;
	t->exe_shown[n] = '\0';
	strcpy(t->exe, link);
	if (stat(link, &s.exe) < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	t->exe_dev = s.exe.st_dev;
	t->exe_ino = s.exe.st_ino;
	err = target_map_objects(pid, scan_object, &s);
	cache_save();
	return err;
}

struct find_obj {
	struct stat want;
	char open_path[PATH_MAX + 64];
};

static int match_object(const char *open_path, const char *shown, dev_t dev,
			ino_t ino, void *arg)
{
	struct find_obj *f = arg;

	(void)shown;
	if (dev != f->want.st_dev || ino != f->want.st_ino)
		return 0;
	snprintf(f->open_path, sizeof(f->open_path), "%s", open_path);
	return 1;
}

int target_from_pid_path(struct target *t, pid_t pid, const char *path)
{
	struct find_obj f;
	struct stat exe;
	char link[64];
	int err;

	err = target_from_path(t, path);
	if (err)
		return err;
	t->nlibs = 0;
	t->needed[0] = '\0';
	t->pid = pid;
	err = check_pid(pid);
	if (err)
		return err;
	memset(&f, 0, sizeof(f));
	if (stat(t->exe, &f.want) < 0)
		return -errno;
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	if (stat(link, &exe) == 0) {
		/* what the process runs, to tell when it exec()s */
		t->exe_dev = exe.st_dev;
		t->exe_ino = exe.st_ino;
		if (exe.st_dev == f.want.st_dev && exe.st_ino == f.want.st_ino)
			return 0;
	}
	err = target_map_objects(pid, match_object, &f);
	if (err < 0)
		return err;
	return err ? 0 : -ENXIO;
}

/* ---- a file: follow DT_NEEDED librocksdb like the dynamic linker ---- */

static bool is_rocksdb_soname(const char *name)
{
	return strncmp(name, "librocksdb", 10) == 0 && strstr(name, ".so");
}

/* DT_NEEDED librocksdb*, and DT_RUNPATH (or DT_RPATH). */
static void read_needed(const struct elf_file *f, char *needed, size_t nlen,
			char *runpath, size_t rlen)
{
	Elf_Scn *scn = NULL;
	Elf_Data *d;
	GElf_Shdr sh;
	GElf_Dyn dyn;
	const char *str;
	size_t i;

	while ((scn = elf_nextscn(f->elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC ||
		    !sh.sh_entsize || !(d = elf_getdata(scn, NULL)))
			continue;
		for (i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			if (!gelf_getdyn(d, (int)i, &dyn))
				break;
			if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_RUNPATH &&
			    dyn.d_tag != DT_RPATH)
				continue;
			str = elf_strptr(f->elf, sh.sh_link, dyn.d_un.d_val);
			if (!str)
				continue;
			if (dyn.d_tag == DT_RUNPATH ||
			    (dyn.d_tag == DT_RPATH && !runpath[0]))
				snprintf(runpath, rlen, "%s", str);
			else if (dyn.d_tag == DT_NEEDED &&
				 is_rocksdb_soname(str) && !needed[0])
				snprintf(needed, nlen, "%s", str);
		}
	}
}

/* Look for name in a colon-separated list of directories ($ORIGIN is the
 * executable's directory). */
static bool search_dirs(const char *exe, const char *list, const char *name,
			char *found, size_t len)
{
	char dirs[PATH_MAX], origin[PATH_MAX], *tok, *save, *slash;

	snprintf(dirs, sizeof(dirs), "%s", list);
	snprintf(origin, sizeof(origin), "%s", exe);
	slash = strrchr(origin, '/');
	if (slash)
		*slash = '\0';
	for (tok = strtok_r(dirs, ":", &save); tok;
	     tok = strtok_r(NULL, ":", &save)) {
		int n;

		if (strncmp(tok, "$ORIGIN", 7) == 0)
			n = snprintf(found, len, "%s%s/%s", origin, tok + 7,
				     name);
		else
			n = snprintf(found, len, "%s/%s", tok, name);
		if (n > 0 && (size_t)n < len && access(found, R_OK) == 0)
			return true;
	}
	found[0] = '\0';
	return false;
}

static void follow_needed(struct target *t)
{
	static const char system_dirs[] =
		"/usr/local/lib:/usr/local/lib/x86_64-linux-gnu:"
		"/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:"
		"/lib64:/usr/lib64:/lib:/usr/lib";
	char runpath[PATH_MAX] = "", found[PATH_MAX];
	struct elf_file f;

	if (elf_open(&f, t->exe) != 0)
		return;
	read_needed(&f, t->needed, sizeof(t->needed), runpath,
		    sizeof(runpath));
	if (t->needed[0] && !elf_is_library(&f) &&
	    ((runpath[0] && search_dirs(t->exe, runpath, t->needed, found,
					sizeof(found))) ||
	     search_dirs(t->exe, system_dirs, t->needed, found,
			 sizeof(found))) &&
	    realpath(found, t->libs[0])) {
		strcpy(t->libs_shown[0], t->libs[0]);
		t->nlibs = 1;
	}
	elf_close(&f);
}

int target_from_path(struct target *t, const char *path)
{
	struct stat st;

	memset(t, 0, sizeof(*t));
	if (strlen(path) >= sizeof(t->exe))
		return -ENAMETOOLONG;
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EISDIR;
	if (!realpath(path, t->exe))
		return -errno;
	strcpy(t->exe_shown, t->exe);
	follow_needed(t);
	return 0;
}

int target_find_comm(const char *name, pid_t *pids, int max)
{
	char path[64], comm[64];
	struct dirent *de;
	DIR *d;
	int found = 0;
	long pid;

	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = strtol(de->d_name, NULL, 10);
		if (pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
		if (read_small_file(path, comm, sizeof(comm)) <= 0)
			continue;
		comm[strcspn(comm, "\n")] = '\0';
		if (strcmp(comm, name) != 0)
			continue;
		if (found < max)
			pids[found] = (pid_t)pid;
		found++;
	}
	closedir(d);
	return found;
}

static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_small_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

bool target_is_zombie(pid_t pid)
{
	return proc_state(pid) == 'Z';
}

enum target_state target_state(const struct target *t)
{
	char path[64], st;
	struct stat sb;

	if (!t->pid)
		return TARGET_RUNNING;
	st = proc_state(t->pid);
	if (!st || st == 'Z' || st == 'X')
		return TARGET_EXITED;
	snprintf(path, sizeof(path), "/proc/%d/exe", t->pid);
	if ((t->exe_dev || t->exe_ino) && stat(path, &sb) == 0 &&
	    (sb.st_dev != t->exe_dev || sb.st_ino != t->exe_ino))
		return TARGET_EXECED;
	return TARGET_RUNNING;
}

bool target_alive(const struct target *t)
{
	return target_state(t) == TARGET_RUNNING;
}

int target_default_pid(pid_t *pid, char *detail, size_t len)
{
	pid_t pids[8];
	size_t used;
	int n, i;

	n = target_find_comm(TARGET_DEFAULT_COMM, pids, 8);
	if (n <= 0) {
		snprintf(detail, len, "no process named %s",
			 TARGET_DEFAULT_COMM);
		return -ESRCH;
	}
	if (n > 1) {
		snprintf(detail, len, "%d processes named %s (PIDs", n,
			 TARGET_DEFAULT_COMM);
		for (i = 0; i < n && i < 8; i++) {
			used = strlen(detail);
			snprintf(detail + used, len - used, " %d", pids[i]);
		}
		used = strlen(detail);
		snprintf(detail + used, len - used, ")");
		return -EEXIST;
	}
	*pid = pids[0];
	return 0;
}
