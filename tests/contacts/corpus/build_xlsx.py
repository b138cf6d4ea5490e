# ruff: noqa: E501 (XML parts are kept as Excel writes them, one element per line)
"""Write excel/members.xlsx from the XML below, as Excel saves a workbook.

openpyxl cannot write what the import must read: formulas with their cached results.
So the parts are written by hand: dates and a date-time (styles 1 and 2), an integer,
a decimal, a phone number stored as a number, booleans, two formulas with cached values
(one numeric, one text), one formula never calculated (no cached value), an invalid
email, and an empty trailing sheet. Run it again after changing the XML:
python tests/contacts/corpus/build_xlsx.py
"""

import zipfile
from pathlib import Path

HERE = Path(__file__).parent
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
REL = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'

PARTS = {
    "[Content_Types].xml": """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/worksheets/sheet2.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>
<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>
</Types>""",
    "_rels/.rels": """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>""",
    "xl/workbook.xml": f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook {NS} {REL}>
<sheets><sheet name="Members" sheetId="1" r:id="rId1"/><sheet name="Notes" sheetId="2" r:id="rId2"/></sheets>
</workbook>""",
    "xl/_rels/workbook.xml.rels": """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet2.xml"/>
<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>
<Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>
</Relationships>""",
    "xl/styles.xml": f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet {NS}>
<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>
<fills count="1"><fill><patternFill patternType="none"/></fill></fills>
<borders count="1"><border/></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="4">
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>
<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="22" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="2" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
</cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>""",
    "xl/sharedStrings.xml": f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst {NS} count="17" uniqueCount="17">
<si><t>Email</t></si><si><t>First name</t></si><si><t>Last name</t></si><si><t>Joined</t></si>
<si><t>Score</t></si><si><t>Balance</t></si><si><t>Double score</t></si><si><t>Phone</t></si>
<si><t>VIP</t></si><si><t>Last login</t></si><si><t>Note</t></si>
<si><t>lucia@example.com</t></si><si><t>Lucía</t></si><si><t>Fernández</t></si>
<si><t>tom@example.com</t></si><si><t>Tom</t></si><si><t>Baker</t></si>
</sst>""",
    "xl/worksheets/sheet1.xml": f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet {NS} {REL}>
<dimension ref="A1:K4"/>
<sheetData>
<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v></c><c r="F1" t="s"><v>5</v></c><c r="G1" t="s"><v>6</v></c><c r="H1" t="s"><v>7</v></c><c r="I1" t="s"><v>8</v></c><c r="J1" t="s"><v>9</v></c><c r="K1" t="s"><v>10</v></c></row>
<row r="2"><c r="A2" t="s"><v>11</v></c><c r="B2" t="s"><v>12</v></c><c r="C2" t="s"><v>13</v></c><c r="D2" s="1"><v>45366</v></c><c r="E2"><v>42</v></c><c r="F2" s="3"><v>12.5</v></c><c r="G2"><f>E2*2</f><v>84</v></c><c r="H2"><v>4915112345678</v></c><c r="I2" t="b"><v>1</v></c><c r="J2" s="2"><v>45366.4375</v></c><c r="K2" t="str"><f>B2&amp;" "&amp;C2</f><v>Lucía Fernández</v></c></row>
<row r="3"><c r="A3" t="s"><v>14</v></c><c r="B3" t="s"><v>15</v></c><c r="C3" t="s"><v>16</v></c><c r="D3" s="1"><v>45000</v></c><c r="E3"><v>7</v></c><c r="F3" s="3"><v>0.25</v></c><c r="G3"><f>E3*2</f><v>14</v></c><c r="I3" t="b"><v>0</v></c><c r="K3"><f>B3</f></c></row>
<row r="4"><c r="A4" t="inlineStr"><is><t>not-an-email</t></is></c><c r="B4" t="inlineStr"><is><t>Broken</t></is></c><c r="E4"><v>1</v></c></row>
</sheetData>
</worksheet>""",
    "xl/worksheets/sheet2.xml": f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet {NS}><dimension ref="A1"/><sheetData/></worksheet>""",
}


def build(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in PARTS.items():
            archive.writestr(name, text.encode("utf-8"))


if __name__ == "__main__":
    build(HERE / "excel" / "members.xlsx")
