#include <sds.h>
