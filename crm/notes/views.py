from flask import Blueprint

bp = Blueprint("notes", __name__)
