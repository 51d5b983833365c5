# The streaming xlsx reader: cell types, errors, hostile input, flat memory.
gk_unit_test(test_xlsx SOURCES test_xlsx.c xlsx_transcript.c
  LIBS gk_xlsx PkgConfig::XLSXWRITER PkgConfig::LIBZIP m)
