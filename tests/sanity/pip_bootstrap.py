# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the get-pip.py script that ``ansible-test --venv`` downloads to seed pip.

ansible-test fetches its bootstrap script from ci-files.testing.ansible.com, which these machines
cannot reach. ``tests/sanity/run.sh`` stores this file in ansible-test's cache
(``~/.ansible/test/cache/get_pip_<version>.py``) when no script is cached there yet. It is called
as get-pip.py is, inside a virtualenv created without pip, with pip's install arguments
(e.g. ``pip==24.2 --no-setuptools --no-wheel``): it seeds pip from the interpreter's bundled
``ensurepip`` wheel, then installs the requested packages from PyPI with that pip.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import subprocess
import sys

# get-pip.py options that pip install does not know.
GET_PIP_ONLY_OPTIONS = ("--no-setuptools", "--no-wheel")


def main():
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
    subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)


if __name__ == "__main__":
    main()
