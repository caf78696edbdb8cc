package reportgen

// verdana11 holds the advance widths of printable ASCII in Verdana, in
// font units (2048 per em), from ' ' (0x20) to '~' (0x7e). Badges estimate
// text width from it at 11 px, as shields.io does, so no font is needed.
var verdana11 = [95]int{
	720, 806, 941, 1722, 1302, 2222, 1493, 548, 1042, 1042, 1302, 1722, 745, 925, 745, 1302, // ' '..'/'
	1302, 1302, 1302, 1302, 1302, 1302, 1302, 1302, 1302, 1302, 931, 931, 1722, 1722, 1722, 1115, // '0'..'?'
	2052, 1401, 1405, 1430, 1577, 1294, 1178, 1574, 1540, 862, 925, 1412, 1141, 1727, 1527, 1614, // '@'..'O'
	1231, 1614, 1431, 1399, 1256, 1519, 1401, 2031, 1405, 1256, 1402, 1042, 1302, 1042, 1722, 1302, // 'P'..'_'
	1302, 1229, 1276, 1067, 1276, 1220, 720, 1276, 1296, 562, 705, 1193, 562, 1994, 1296, 1243, // '`'..'o'
	1276, 1276, 874, 1067, 807, 1296, 1193, 1665, 1193, 1193, 1056, 1303, 1042, 1303, 1722, // 'p'..'~'
}

// textWidth estimates the width in whole pixels of s in Verdana 11 px;
// characters outside printable ASCII count as a digit.
func textWidth(s string) int {
	units := 0
	for _, r := range s {
		if r >= ' ' && r <= '~' {
			units += verdana11[r-' ']
		} else {
			units += verdana11['0'-' ']
		}
	}
	return (units*11 + 2047) / 2048
}
