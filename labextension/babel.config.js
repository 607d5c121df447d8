// Used by jest to turn JupyterLab's ES module packages into CommonJS.
module.exports = require('@jupyterlab/testing/lib/babel-config');
