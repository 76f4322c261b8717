from flask import Blueprint

bp = Blueprint("issues", __name__)
