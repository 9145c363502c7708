"""The README's Python example prints what the README says it prints."""
import os
import re
import subprocess
import sys

from conftest import SOURCE_ROOT


def test_readme_python_example():
    with open(os.path.join(SOURCE_ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    code = re.search(r"```python\n(.*?)```", text, flags=re.S).group(1)
    # the sentence after the block: "prints `[...]`"
    said = re.search(r"```python\n.*?```\n\nprints `(.*?)`", text, flags=re.S).group(1)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout == said + "\n"
    # by hand: 1,000,000.00 by 420000 : 310000 is 575342.4657... and 424657.5342...;
    # floored to the fen 575342.46 + 424657.53, and the fen left over to the larger
    # remainder (0.57 of a fen against 0.42)
    assert said == "[Decimal('1000000.00'), Decimal('575342.47'), Decimal('424657.53')]"
