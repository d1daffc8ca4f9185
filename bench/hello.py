"""The yardstick: a bare Flask "hello", served by gunicorn exactly as the CRM is."""

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello, World!"
