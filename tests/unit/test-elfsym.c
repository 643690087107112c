/* ELF symbol resolution: vaddr -> file offset on PIE and non-PIE files,
 * cross-checked against the section headers; C++ prefix matching. */
#include <elf.h>
#include <errno.h>
#include <unistd.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>

#include "elfsym.h"
#include "tap.h"

struct find {
	const char *name;
	uint64_t addr;
};

static int find_cb(const char *name, uint64_t addr, uint64_t size,
		   bool defined, void *arg)
{
	struct find *f = arg;

	(void)size;
	if (defined && strcmp(name, f->name) == 0) {
		f->addr = addr;
		return 1;
	}
	return 0;
}

/* The offset through the section that holds addr: an independent route. */
static uint64_t offset_by_section(const struct elf_file *f, uint64_t addr)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(f->elf, scn))) {
		gelf_getshdr(scn, &sh);
		if (sh.sh_type == SHT_PROGBITS && (sh.sh_flags & SHF_ALLOC) &&
		    addr >= sh.sh_addr && addr < sh.sh_addr + sh.sh_size)
			return addr - sh.sh_addr + sh.sh_offset;
	}
	return (uint64_t)-1;
}

static void check_file(const char *env, int want_type)
{
	const char *path = getenv(env);
	struct elf_file f;
	struct find q = { "fixture_target", 0 };
	uint64_t off = 0;
	int rc;

	if (!path) {
		ok(0, "%s is set", env);
		return;
	}
	rc = elf_open(&f, path);
	ok(rc == 0, "%s opens", env);
	if (rc)
		return;
	ok(f.type == want_type, "%s has ELF type %d (got %d)", env, want_type,
	   f.type);
	ok(f.has_symtab, "%s has .symtab", env);
	ok(strlen(f.build_id) == 40, "%s build-id is 20 bytes", env);
	elf_symbols(&f, find_cb, &q);
	ok(q.addr != 0, "%s defines fixture_target", env);
	ok(elf_vaddr_to_offset(&f, q.addr, &off) == 0, "%s maps the address",
	   env);
	ok(off == offset_by_section(&f, q.addr),
	   "%s offset 0x%llx matches the section route", env,
	   (unsigned long long)off);
	ok(elf_vaddr_to_offset(&f, 0x7fffffffffffull, &off) == -ENOENT,
	   "%s: an unmapped address has no offset", env);
	ok(!elf_is_library(&f), "%s is not a library", env);
	elf_close(&f);
}

static void check_bad_files(void)
{
	struct elf_file f;
	char path[] = "/tmp/ckbtrace-elf-XXXXXX";
	int fd = mkstemp(path);
	const char *pie = getenv("FIXTURE_PIE");
	char buf[256];
	FILE *in;
	size_t n;

	ok(elf_open(&f, "/nonexistent/x") == -ENOENT, "missing file: -ENOENT");
	if (write(fd, "#!/bin/sh\necho hi\n", 18) != 18)
		ok(0, "write temp file");
	ok(elf_open(&f, path) == -ENOEXEC, "a script is not ELF: -ENOEXEC");
	/* the first 256 bytes of a real ELF: headers promise sections that
	 * are not there */
	in = pie ? fopen(pie, "rb") : NULL;
	n = in ? fread(buf, 1, sizeof(buf), in) : 0;
	if (in)
		fclose(in);
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, n, 0) != (ssize_t)n)
		ok(0, "write truncated copy");
	ok(elf_open(&f, path) == -ENOEXEC, "a truncated ELF: -ENOEXEC");
	ok(elf_open(&f, "/tmp") == -ENOEXEC, "a directory: -ENOEXEC");
	/* all but the last 64 bytes: the section headers are cut off */
	in = pie ? fopen(pie, "rb") : NULL;
	if (in) {
		static char whole[1 << 20];

		n = fread(whole, 1, sizeof(whole), in);
		fclose(in);
		if (ftruncate(fd, 0) != 0 ||
		    pwrite(fd, whole, n - 64, 0) != (ssize_t)(n - 64))
			ok(0, "write cut copy");
		ok(elf_open(&f, path) == -ENOEXEC,
		   "an ELF missing its last 64 bytes: -ENOEXEC");
	}
	close(fd);
	unlink(path);
}

static void check_cxx(void)
{
	char needle[128];

	ok(cxx_prefix_match("_ZN7rocksdb8FlushJob3RunEPNS_19LogsWithPrepTrackerEPNS_12FileMetaDataEPb",
			    "rocksdb::FlushJob::Run("), "FlushJob::Run matches");
	ok(cxx_prefix_match("_ZN7rocksdb13CompactionJob3RunEv",
			    "rocksdb::CompactionJob::Run()"),
	   "CompactionJob::Run() matches");
	ok(!cxx_prefix_match("_ZN7rocksdb13CompactionJob7PrepareEv",
			     "rocksdb::CompactionJob::Run()"),
	   "CompactionJob::Prepare does not");
	ok(!cxx_prefix_match("_ZN7rocksdb6DBImpl10DelayWriteERKNS_12WriteOptionsE.cold",
			     "rocksdb::DBImpl::DelayWrite("),
	   "a .cold clone does not");
	ok(cxx_prefix_match("_ZN7rocksdb6DBImpl10DelayWriteEmRKNS_12WriteOptionsE",
			    "rocksdb::DBImpl::DelayWrite("),
	   "DelayWrite with any parameters matches");
	ok(!cxx_prefix_match("_ZZN7rocksdb13CompactionJob3RunEvENKUlvE_clEv",
			     "rocksdb::CompactionJob::Run()"),
	   "a lambda inside CompactionJob::Run() does not");
	ok(!cxx_prefix_match("rocksdb_get", "rocksdb::DBImpl::GetImpl("),
	   "a C name never matches");
	ok(!cxx_prefix_match("_ZN7rocksdb6DBImpl7GetImplERKNS_11ReadOptionsE",
			     "rocksdb::DBImpl::GetImplX("),
	   "a longer prefix does not match");
	ok(cxx_prefix_needle("rocksdb::DBImpl::GetImpl(", needle,
			     sizeof(needle)) == 0 &&
	   strcmp(needle, "7rocksdb6DBImpl7GetImpl") == 0,
	   "needle of DBImpl::GetImpl is %s", needle);
	ok(cxx_prefix_needle("rocksdb::CompactionJob::Run()", needle,
			     sizeof(needle)) == 0 &&
	   strcmp(needle, "7rocksdb13CompactionJob3Run") == 0,
	   "needle of CompactionJob::Run() is %s", needle);
	ok(cxx_prefix_needle("rocksdb::PessimisticTransaction::~PessimisticTransaction(",
			     needle, sizeof(needle)) == 0 &&
	   strcmp(needle, "7rocksdb22PessimisticTransaction") == 0,
	   "a destructor's needle stops at its class: %s", needle);
	ok(cxx_prefix_match("_ZN7rocksdb22PessimisticTransactionD2Ev",
			    "rocksdb::PessimisticTransaction::~PessimisticTransaction("),
	   "a destructor (D2) matches its demangled name");
	ok(cxx_prefix_match("_ZN7rocksdb19TransactionBaseImpl3GetERKNS_11ReadOptionsEPNS_18ColumnFamilyHandleERKNS_5SliceEPNS_13PinnableSliceE",
			    "rocksdb::TransactionBaseImpl::Get(rocksdb::ReadOptions const&, rocksdb::ColumnFamilyHandle*, rocksdb::Slice const&, rocksdb::PinnableSlice*"),
	   "a prefix with parameters picks the overload");
	ok(!cxx_prefix_match("_ZN7rocksdb19TransactionBaseImpl3GetERKNS_11ReadOptionsEPNS_18ColumnFamilyHandleERKNS_5SliceEPNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE",
			     "rocksdb::TransactionBaseImpl::Get(rocksdb::ReadOptions const&, rocksdb::ColumnFamilyHandle*, rocksdb::Slice const&, rocksdb::PinnableSlice*"),
	   "and not the std::string one");
}

int main(void)
{
	check_file("FIXTURE_PIE", ET_DYN);
	check_file("FIXTURE_NOPIE", ET_EXEC);
	check_bad_files();
	check_cxx();
	return done_testing();
}
