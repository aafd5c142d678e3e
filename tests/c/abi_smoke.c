#include "testutil.h"
int main(void) {
  CHECK_EQ_INT(libsds_version_number(), LIBSDS_VERSION_NUMBER);
  CHECK_EQ_INT(libsds_abi_version(), LIBSDS_ABI_VERSION);
  CHECK_STR(libsds_version(), LIBSDS_VERSION);
  return tu_done("abi_smoke");
}
