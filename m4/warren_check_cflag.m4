# WARREN_CHECK_CFLAG(FLAG, ACTION-IF-OK)
# Probe one compiler flag at a time (autoconf-archive is not installed here).
AC_DEFUN([WARREN_CHECK_CFLAG], [
	AC_MSG_CHECKING([whether $CC accepts $1])
	warren_save_cflags="$CFLAGS"
	CFLAGS="$CFLAGS -Werror $1"
	AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
	    [AC_MSG_RESULT([yes]); $2], [AC_MSG_RESULT([no])])
	CFLAGS="$warren_save_cflags"
])
